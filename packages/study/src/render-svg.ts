import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Renders a Vega-Lite specification to a standalone SVG string in Node: compiled to Vega,
 * run headless (renderer 'none'), serialized by Vega's own SVG renderer. Without the
 * optional `canvas` package Vega estimates text widths, which is fine for axis labels.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
