// A QR code as inline SVG, drawn in the page by the bundled uqr encoder (no image service, no third-party host).
import { encode } from 'uqr';

const SVG = 'http://www.w3.org/2000/svg';

function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** An SVG QR code of `text`: one square per dark module on a white ground (readable in dark mode too). */
export function qrSvg(text: string, label: string): SVGSVGElement {
  const { data, size } = encode(text, { ecc: 'M', border: 2 });
  const svg = svgEl('svg', { viewBox: `0 0 ${size} ${size}`, role: 'img', 'aria-label': label, 'shape-rendering': 'crispEdges' });
  svg.append(svgEl('rect', { width: size, height: size, fill: '#fff' }));
  data.forEach((row, y) =>
    row.forEach((dark, x) => {
      if (dark) svg.append(svgEl('rect', { x, y, width: 1, height: 1, fill: '#000' }));
    }),
  );
  return svg;
}
