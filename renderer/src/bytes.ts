// Base64 for packet files: the browser reads a dropped file as bytes and the API carries them as
// base64 text (packet.import), and an exported packet comes back the same way (packet.export).
// No DOM or Node types here, so node:test can check it; btoa/atob would need a binary string
// built one character per byte, which is slow and easy to get wrong for large files.

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

const alphabetIndex: ReadonlyMap<string, number> = new Map([...alphabet].map((char, index) => [char, index]));

/** Standard base64 with padding, as Node's Buffer.toString('base64') writes it. */
export function base64FromBytes(input: ArrayBuffer | Uint8Array): string {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const parts: string[] = [];
  // Join in slices: one string concatenation per byte triple is slow for multi-megabyte packets.
  const sliceBytes = 3 * 4096;
  for (let start = 0; start < bytes.length; start += sliceBytes) {
    const end = Math.min(start + sliceBytes, bytes.length);
    let text = '';
    for (let i = start; i < end; i += 3) {
      const b0 = bytes[i] as number;
      const b1 = i + 1 < end ? (bytes[i + 1] as number) : 0;
      const b2 = i + 2 < end ? (bytes[i + 2] as number) : 0;
      const triple = (b0 << 16) | (b1 << 8) | b2;
      text += alphabet[(triple >> 18) & 63];
      text += alphabet[(triple >> 12) & 63];
      text += i + 1 < end ? alphabet[(triple >> 6) & 63] : '=';
      text += i + 2 < end ? alphabet[triple & 63] : '=';
    }
    parts.push(text);
  }
  return parts.join('');
}

/** Decodes standard base64 (padding optional); throws on any other character or a bad length. */
export function bytesFromBase64(text: string): Uint8Array<ArrayBuffer> {
  const clean = text.endsWith('==') ? text.slice(0, -2) : text.endsWith('=') ? text.slice(0, -1) : text;
  if (clean.length % 4 === 1) throw new Error('Not valid base64: wrong length.');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let written = 0;
  for (let i = 0; i < clean.length; i += 4) {
    let quad = 0;
    const count = Math.min(4, clean.length - i);
    for (let j = 0; j < 4; j++) {
      const char = clean[i + j];
      let value = 0;
      if (j < count) {
        const found = alphabetIndex.get(char as string);
        if (found === undefined) throw new Error(`Not valid base64: unexpected character at position ${i + j}.`);
        value = found;
      }
      quad = (quad << 6) | value;
    }
    out[written++] = (quad >> 16) & 255;
    if (count > 2) out[written++] = (quad >> 8) & 255;
    if (count > 3) out[written++] = quad & 255;
  }
  return out;
}
