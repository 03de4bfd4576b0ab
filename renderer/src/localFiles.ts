// Paths of files on this machine. Core reads tables and volumes from a path, never from bytes
// carried in an API call (a 1 GB file must stream). In the desktop app the preload exposes
// Electron's webUtils.getPathForFile, so a picked or dropped file gives its path. A browser never
// tells a page where a picked file lives, so in the browser shell a picked or dropped file is
// streamed to the local shell's upload route (upload.ts) and staged in a private RAM-backed
// folder, whose path is then used; typing a path works in both.

declare global {
  interface Window {
    /** Set by electron/preload beside `cleanroom`; absent in the browser shell. */
    readonly cleanroomFiles?: { readonly pathForFile: (file: File) => string };
  }
}

/** Whether a picked or dropped file can give its path here (the desktop app). */
export function canPickLocalFiles(): boolean {
  return typeof window !== 'undefined' && window.cleanroomFiles !== undefined;
}

/** The path of a picked or dropped file; null where the host cannot tell (or it is not on disk). */
export function localPathOf(file: File): string | null {
  const path = window.cleanroomFiles?.pathForFile(file) ?? '';
  return path === '' ? null : path;
}
