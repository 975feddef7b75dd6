// lib.js — the UI's one import point for its libraries: Preact, its hooks
// and htm (tagged templates instead of JSX, so no build step).  The files
// are the packages' own dist builds, embedded into the binary under /vendor/.
import { h, render, Fragment } from '/vendor/preact.module.js';
import htm from '/vendor/htm.module.js';

export { h, render, Fragment };
export {
  useState, useEffect, useRef, useCallback, useMemo, useLayoutEffect,
} from '/vendor/hooks.module.js';
export const html = htm.bind(h);
