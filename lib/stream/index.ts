/**
 * `ssd-edge/stream`: **reserved** for the streaming wing (video sources and sinks, a pipeline that overlaps the
 * detector's prepare / forward / finish stages on successive frames). It exports nothing yet: the subpath exists so
 * that the package's export map and its promise — streaming never loads tfjs and lives outside the main entry —
 * are fixed before the code lands. Import the detector and its stages from `ssd-edge` meanwhile.
 */
export {};
