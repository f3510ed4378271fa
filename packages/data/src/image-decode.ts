import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataError } from './errors.js';

/** A larger image is refused before it is decoded (a small file can still declare many pixels: see the next). */
export const MAX_IMAGE_PIXELS = 16 * 1024 * 1024;

/** One decoded image in its own channels: 1 (grayscale) or 3 (RGB, alpha dropped), 8 bits each. */
export interface DecodedImage {
  width: number;
  height: number;
  channels: 1 | 3;
  pixels: Uint8Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function corrupt(file: string, why: string, cause?: unknown): DataError {
  return new DataError('DATA_ERR_IMAGE', `${file}: not a readable PNG or JPEG image (${why})`, cause === undefined ? undefined : { cause });
}

function checkPixels(file: string, width: number, height: number): void {
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new DataError('DATA_ERR_TOO_LARGE', `${file}: ${width} x ${height} pixels is over the ${MAX_IMAGE_PIXELS}-pixel limit for an image`);
  }
}

/** Keeps channel 0 (gray) or 0..2 (RGB) of each `stride`-byte pixel. */
function pick(data: Uint8Array, stride: number, channels: 1 | 3): Uint8Array {
  const n = data.length / stride;
  const out = new Uint8Array(n * channels);
  for (let p = 0; p < n; p++) for (let c = 0; c < channels; c++) out[p * channels + c] = data[p * stride + c] as number;
  return out;
}

function decodePng(file: string, bytes: Buffer): DecodedImage {
  // IHDR is the first chunk: width and height are checked before pngjs allocates for them.
  if (bytes.length < 24) throw corrupt(file, 'truncated PNG header');
  checkPixels(file, bytes.readUInt32BE(16), bytes.readUInt32BE(20));
  let png;
  try {
    png = PNG.sync.read(bytes);
  } catch (cause) {
    throw corrupt(file, (cause as Error).message, cause);
  }
  // pngjs gives RGBA with 8 bits a channel whatever the file holds (palette, 16-bit and gray expanded).
  const channels = png.color ? 3 : 1;
  return { width: png.width, height: png.height, channels, pixels: pick(png.data, 4, channels) };
}

/**
 * The number of colour components in a JPEG's frame header (SOF), which jpeg-js does not
 * report: 1 is grayscale. Walks the marker segments before the first scan.
 */
function jpegComponents(file: string, bytes: Buffer): number {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) throw corrupt(file, `no JPEG marker at byte ${i}`);
    const marker = bytes[i + 1] as number;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width, components.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      checkPixels(file, bytes.readUInt16BE(i + 7), bytes.readUInt16BE(i + 5));
      return bytes[i + 9] as number;
    }
    if (marker === 0xda || marker === 0xd9) break; // a scan or the end before any frame header
    i += 2 + bytes.readUInt16BE(i + 2);
  }
  throw corrupt(file, 'no JPEG frame header');
}

function decodeJpeg(file: string, bytes: Buffer): DecodedImage {
  const components = jpegComponents(file, bytes);
  if (components !== 1 && components !== 3) throw corrupt(file, `${components} colour components (CMYK?); only grayscale and RGB are read`);
  let image;
  try {
    // tolerantDecoding off: a scan with blocks outside the frame is an error, not silently skipped.
    image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6 });
  } catch (cause) {
    throw corrupt(file, (cause as Error).message, cause);
  }
  const channels = components === 1 ? 1 : 3;
  return { width: image.width, height: image.height, channels, pixels: pick(image.data, 3, channels) };
}

/** Decodes a PNG or JPEG file's bytes (told apart by their signature, not the file name). */
export function decodeImage(file: string, bytes: Buffer): DecodedImage {
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return decodePng(file, bytes);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return decodeJpeg(file, bytes);
  throw corrupt(file, 'neither a PNG nor a JPEG signature');
}
