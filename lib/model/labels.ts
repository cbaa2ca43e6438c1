/**
 * Class-name lists for imported models, background included at index 0 (index = logit column).
 */
import fs from 'node:fs';

/** torchvision's COCO category names (`torchvision.models._meta._COCO_CATEGORIES`): 91 entries, 'N/A' for unused ids. */
export const COCO_91_LABELS: readonly string[] = Object.freeze([
  '__background__',
  'person',
  'bicycle',
  'car',
  'motorcycle',
  'airplane',
  'bus',
  'train',
  'truck',
  'boat',
  'traffic light',
  'fire hydrant',
  'N/A',
  'stop sign',
  'parking meter',
  'bench',
  'bird',
  'cat',
  'dog',
  'horse',
  'sheep',
  'cow',
  'elephant',
  'bear',
  'zebra',
  'giraffe',
  'N/A',
  'backpack',
  'umbrella',
  'N/A',
  'N/A',
  'handbag',
  'tie',
  'suitcase',
  'frisbee',
  'skis',
  'snowboard',
  'sports ball',
  'kite',
  'baseball bat',
  'baseball glove',
  'skateboard',
  'surfboard',
  'tennis racket',
  'bottle',
  'N/A',
  'wine glass',
  'cup',
  'fork',
  'knife',
  'spoon',
  'bowl',
  'banana',
  'apple',
  'sandwich',
  'orange',
  'broccoli',
  'carrot',
  'hot dog',
  'pizza',
  'donut',
  'cake',
  'chair',
  'couch',
  'potted plant',
  'bed',
  'N/A',
  'dining table',
  'N/A',
  'N/A',
  'toilet',
  'N/A',
  'tv',
  'laptop',
  'mouse',
  'remote',
  'keyboard',
  'cell phone',
  'microwave',
  'oven',
  'toaster',
  'sink',
  'refrigerator',
  'N/A',
  'book',
  'clock',
  'vase',
  'scissors',
  'teddy bear',
  'hair drier',
  'toothbrush',
]);

/** PASCAL VOC names in the usual order (torchvision `_VOC_CATEGORIES`, pytorch-ssd's VOC models): 21 entries. */
export const VOC_21_LABELS: readonly string[] = Object.freeze([
  '__background__',
  'aeroplane',
  'bicycle',
  'bird',
  'boat',
  'bottle',
  'bus',
  'car',
  'cat',
  'chair',
  'cow',
  'diningtable',
  'dog',
  'horse',
  'motorbike',
  'person',
  'pottedplant',
  'sheep',
  'sofa',
  'train',
  'tvmonitor',
]);

/** The built-in list for a class count (91 → COCO, 21 → VOC), or undefined. */
export function defaultLabels(numClasses: number): string[] | undefined {
  if (numClasses === COCO_91_LABELS.length) return [...COCO_91_LABELS];
  if (numClasses === VOC_21_LABELS.length) return [...VOC_21_LABELS];
  return undefined;
}

/**
 * Reads a labels file: one name per line (pytorch-ssd / jetson-inference `labels.txt`), trailing blank lines and
 * surrounding whitespace (CR included) dropped; inner blank lines are kept as '' so indices do not shift.
 *
 * @throws {Error} The file cannot be read. @throws {TypeError} It holds no names.
 * @example
 * readLabelsFile('labels.txt'); // ['BACKGROUND', 'person', …]
 */
export function readLabelsFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory, expected a text file with one class name per line'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : `cannot be read (${code})`;
    throw Object.assign(new Error(`Cannot read labels file ${file}: ${why}`, { cause: err }), { code, path: file });
  }
  const lines = text.split('\n').map((l) => l.trim());
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new TypeError(`Expected one class name per line in ${file} but received an empty file`);
  return lines;
}
