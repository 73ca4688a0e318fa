/** One rendered chart: where its SVG goes, and the SVG text. */
export interface RenderedChart {
  file: string;
  svg: string;
}

export function renderSvg(spec: object): Promise<string>;
export function renderAll(dir?: string): Promise<{ charts: RenderedChart[]; missing: string[] }>;
