// Chart.js, registered piece by piece so the bundle carries only the chart types the console draws.
// Every chart is kept in a registry by name: pages destroy theirs on navigation, and the browser
// tests read labels and data through window.cirrusCharts() instead of guessing from pixels.
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  type ChartType,
  DoughnutController,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  type Plugin,
  PointElement,
  Tooltip,
} from "chart.js";
import { h } from "./dom";

Chart.register(
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  DoughnutController,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);

// Numbers, not motion: no animation, so a chart is final the moment it is drawn (and a screenshot
// or a test never catches it half-way).
Chart.defaults.animation = false;
Chart.defaults.font.family = getComputedStyle(document.documentElement).getPropertyValue("--font") || "system-ui, sans-serif";
Chart.defaults.font.size = 12;
Chart.defaults.color = "#475467";
Chart.defaults.borderColor = "#e4e7ec";
Chart.defaults.plugins.legend.labels.boxWidth = 12;
Chart.defaults.plugins.legend.labels.boxHeight = 12;
Chart.defaults.plugins.tooltip.backgroundColor = "#101828";
Chart.defaults.maintainAspectRatio = false;

/** Tableau 10: distinct in colour and in lightness, readable by most colour-blind viewers. */
export const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
export const OTHERS = "#d0d5dd";
export const color = (i: number): string => PALETTE[i % PALETTE.length];

const registry = new Map<string, Chart>();

declare global {
  interface Window {
    cirrusCharts: () => { id: string; type: string; labels: string[]; datasets: { label: string; data: unknown[] }[] }[];
  }
}
window.cirrusCharts = () =>
  [...registry.entries()].map(([id, c]) => ({
    id,
    type: String((c.config as { type?: string }).type ?? ""),
    labels: (c.data.labels ?? []).map(String),
    datasets: c.data.datasets.map((d) => ({ label: String(d.label ?? ""), data: [...d.data] })),
  }));

/** A canvas in a sized box, and its chart. `id` names it for tests (data-chart). */
export function chart<T extends ChartType>(id: string, cfg: ChartConfiguration<T>, height = 280, label = id): HTMLElement {
  const canvas = h("canvas", { role: "img", "aria-label": label });
  const box = h("div", { class: "chart-box", "data-chart": id }, canvas);
  box.style.height = `${height}px`; // CSSOM, not a style attribute: the CSP allows no inline styles
  // Chart.js measures its parent: draw once the box is in the document (pages build their DOM
  // before it is attached). A box never attached (the user navigated away) gives up after ~2 s.
  let frames = 120;
  const draw = () => {
    if (!box.isConnected) {
      if (--frames > 0) requestAnimationFrame(draw);
      return;
    }
    registry.get(id)?.destroy();
    registry.set(id, new Chart(canvas, cfg as ChartConfiguration));
    box.dataset.ready = "1";
  };
  requestAnimationFrame(draw);
  return box;
}

export function destroyCharts(): void {
  for (const c of registry.values()) c.destroy();
  registry.clear();
}

export function getChart(id: string): Chart | undefined {
  return registry.get(id);
}

/**
 * Draws the 2023 US merger-guideline HHI bands behind a chart whose y axis is HHI:
 * below 1,000 unconcentrated, 1,000–1,800 moderately, above 1,800 highly concentrated.
 */
export const hhiBands: Plugin<"line"> = {
  id: "hhiBands",
  beforeDatasetsDraw(c) {
    const { ctx, chartArea: a, scales } = c;
    const y = scales.y;
    if (!y) return;
    const bands: [number, number, string, string][] = [
      [0, 1000, "rgba(18, 183, 106, 0.07)", "Unconcentrated"],
      [1000, 1800, "rgba(247, 144, 9, 0.09)", "Moderately concentrated"],
      [1800, 10000, "rgba(240, 68, 56, 0.07)", "Highly concentrated"],
    ];
    ctx.save();
    ctx.font = `11px ${Chart.defaults.font.family}`;
    ctx.textAlign = "right";
    for (const [lo, hi, fill, name] of bands) {
      const top = Math.max(a.top, y.getPixelForValue(Math.min(hi, y.max)));
      const bottom = Math.min(a.bottom, y.getPixelForValue(Math.max(lo, y.min)));
      if (bottom <= top) continue;
      ctx.fillStyle = fill;
      ctx.fillRect(a.left, top, a.right - a.left, bottom - top);
      ctx.fillStyle = "#667085";
      ctx.fillText(name, a.right - 6, top + 13);
    }
    ctx.setLineDash([5, 4]);
    ctx.strokeStyle = "#98a2b3";
    for (const t of [1000, 1800]) {
      if (t <= y.min || t >= y.max) continue;
      const py = y.getPixelForValue(t);
      ctx.beginPath();
      ctx.moveTo(a.left, py);
      ctx.lineTo(a.right, py);
      ctx.stroke();
    }
    ctx.restore();
  },
};

/** A dashed horizontal reference line at `value` on axis `axis` (e.g. 80% on a Pareto chart). */
export function refLine(id: string, axis: string, value: number, text: string): Plugin {
  return {
    id,
    afterDatasetsDraw(c) {
      const s = c.scales[axis];
      if (!s) return;
      const { ctx, chartArea: a } = c;
      const py = s.getPixelForValue(value);
      if (py < a.top || py > a.bottom) return;
      ctx.save();
      ctx.setLineDash([4, 4]);
      ctx.strokeStyle = "#f04438";
      ctx.beginPath();
      ctx.moveTo(a.left, py);
      ctx.lineTo(a.right, py);
      ctx.stroke();
      ctx.fillStyle = "#b42318";
      ctx.font = `11px ${Chart.defaults.font.family}`;
      ctx.textAlign = "left";
      ctx.fillText(text, a.left + 6, py - 5);
      ctx.restore();
    },
  };
}
