// The folder packets were last written to (a USB stick, a shared folder), offered again next time.
// Kept in this profile's localStorage: it is a path on this machine and never leaves it.
const storageKey = 'cleanroom.packetFolder';

export function rememberedPacketFolder(): string {
  try {
    return window.localStorage.getItem(storageKey) ?? '';
  } catch {
    return ''; // Storage disabled in this profile: start empty.
  }
}

export function rememberPacketFolder(folder: string): void {
  try {
    window.localStorage.setItem(storageKey, folder);
  } catch {
    // Not remembered: the user types it again next time.
  }
}
