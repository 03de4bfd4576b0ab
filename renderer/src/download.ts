// Saves a file the way a browser does: a Blob behind an <a download>. The browser shell gets the
// browser's download (or save-as) behaviour; Electron shows its save dialog for the same click.
import { bytesFromBase64 } from './bytes.js';

/** Offers `data` as a download named `fileName`. */
export function saveFile(fileName: string, data: string | Uint8Array<ArrayBuffer>): void {
  // octet-stream: a text type could make the browser append ".txt" to ".cleanroom-card".
  const url = URL.createObjectURL(new Blob([data], { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.className = 'offscreen';
  document.body.append(link);
  link.click();
  link.remove();
  // The browser reads the Blob after click() returns; revoking at once can cancel the download.
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Offers a packet that packet.export returned as base64. */
export function savePacket(fileName: string, contentBase64: string): void {
  saveFile(fileName, bytesFromBase64(contentBase64));
}
