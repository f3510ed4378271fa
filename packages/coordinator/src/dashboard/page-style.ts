/** The dashboard's stylesheet (served as /dashboard/dashboard.css): a dark, dense layout that reads at a glance. */
export const PAGE_CSS = `
:root {
  --bg: #0f141b; --panel: #161d27; --panel-2: #1b2430; --line: #263141;
  --text: #e4e9f0; --muted: #8b98ad; --accent: #4e9bf5;
  --ok: #59c26b; --warn: #edc948; --bad: #e15759;
  color-scheme: dark;
}
* { box-sizing: border-box; }
body { margin: 0; padding: 18px 22px 28px; background: var(--bg); color: var(--text);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
.top { display: flex; align-items: center; justify-content: space-between; gap: 16px; }
.title { display: flex; align-items: baseline; gap: 12px; min-width: 0; }
.logo { font-weight: 700; letter-spacing: .02em; color: var(--accent); }
h1 { margin: 0; font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; overflow: hidden; text-overflow: ellipsis; }
.state { padding: 2px 10px; border-radius: 999px; font-size: 12px; font-weight: 600; text-transform: uppercase;
  letter-spacing: .05em; background: var(--panel-2); color: var(--muted); border: 1px solid var(--line); }
.state[data-state="training"] { color: var(--ok); border-color: rgba(89,194,107,.5); }
.state[data-state="starting"], .state[data-state="waiting"] { color: var(--warn); border-color: rgba(237,201,72,.5); }
.state[data-state="finished"] { color: var(--accent); border-color: rgba(78,155,245,.5); }
.state[data-state="failed"] { color: var(--bad); border-color: rgba(225,87,89,.6); }
.connection { display: flex; align-items: center; gap: 8px; color: var(--muted); font-size: 13px; white-space: nowrap; }
.connection .dot { width: 9px; height: 9px; border-radius: 50%; background: var(--muted); }
.connection[data-connection="live"] .dot { background: var(--ok); box-shadow: 0 0 0 3px rgba(89,194,107,.18); }
.connection[data-connection="reconnecting"] .dot { background: var(--warn); }
.config { margin: 6px 0 14px; color: var(--muted); font-size: 13px; }
.progress { margin-bottom: 14px; }
.track { height: 6px; border-radius: 3px; background: var(--panel-2); overflow: hidden; }
.fill { height: 100%; width: 0; background: linear-gradient(90deg, #3b7fd9, var(--accent)); transition: width .4s ease; }
.progress-text { display: flex; gap: 18px; margin-top: 6px; color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(136px, 1fr)); gap: 10px; margin-bottom: 14px; }
.kpi { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; min-width: 0; }
.kpi .label {
  color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .06em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
.kpi .value { font-size: 22px; font-weight: 600; margin-top: 2px; font-variant-numeric: tabular-nums; white-space: nowrap; }
.kpi .sub { color: var(--muted); font-size: 11.5px; margin-top: 2px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 12px; }
.chart { margin: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px 6px; min-width: 0; }
.chart figcaption { font-weight: 600; margin-bottom: 6px; }
.chart figcaption span { color: var(--muted); font-weight: 400; font-size: 12px; margin-left: 6px; }
.plot { min-height: 190px; }
.chart.empty .plot { display: flex; align-items: center; justify-content: center; color: var(--muted); font-size: 13px; }
.chart.empty .plot::before { content: attr(data-empty); }
.chart.empty .plot .uplot { display: none; }
.uplot { font-family: inherit; width: 100%; }
.u-legend { font-size: 12px; color: var(--muted); }
.u-legend .u-series > * { padding: 1px 4px; }
.u-legend .u-value { color: var(--text); font-variant-numeric: tabular-nums; }
.workers { margin-top: 14px; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.workers h2 { margin: 0 0 8px; font-size: 15px; }
.workers h2 span { color: var(--muted); font-weight: 400; font-size: 12px; margin-left: 6px; }
.workers table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
.workers th {
  text-align: left; color: var(--muted); font-weight: 500; font-size: 11px; text-transform: uppercase; letter-spacing: .05em;
  padding: 4px 8px; border-bottom: 1px solid var(--line);
}
.workers th.bar-head { text-transform: none; letter-spacing: 0; font-size: 11px; }
.workers td { padding: 6px 8px; border-bottom: 1px solid rgba(38,49,65,.6); white-space: nowrap; }
tr.lost td { color: var(--muted); text-decoration: line-through; }
tr.straggler td { background: rgba(225,87,89,.07); }
td.network-bound { color: var(--bad); font-weight: 600; }
.bar-cell { width: 32%; }
.bar { height: 8px; border-radius: 4px; background: var(--accent); min-width: 2px; transition: width .4s ease; }
.bar.slow { background: var(--bad); }
td .state { margin-right: 6px; font-size: 11px; padding: 1px 8px; }
.state.ready, .state.training { color: var(--ok); border-color: rgba(89,194,107,.5); }
.state.connected { color: var(--warn); border-color: rgba(237,201,72,.5); }
.state.lost, .state.straggler { color: var(--bad); border-color: rgba(225,87,89,.6); }
footer { margin-top: 12px; color: var(--muted); font-size: 12px; }
`;
