/**
 * Messages shared by the session (lib/runtime/session.ts) and its worker thread (lib/runtime/ort-worker.ts). A module
 * of its own, without imports, so the worker loads it without session.ts and onnxruntime-node's main-thread setup.
 */

/** The one message of every call on a disposed session (in-process or in a worker). */
export const SESSION_DISPOSED = 'Session is disposed';
