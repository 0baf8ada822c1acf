// The live dashboard: one self-contained page that polls the server's JSON
// API (and its server-drawn timeline SVG) every two seconds. Text from the
// data is set through textContent, never as HTML.
#include "serve/server.h"

namespace rslicer {

std::string render_dashboard_html() {
  return R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>RuntimeSlicer live</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.2em 2em;color:#222;background:#fafafa}
h1{font-size:1.3em;margin:0 0 .3em} h2{font-size:1.1em;margin:1.2em 0 .4em}
#status span{margin-right:1.5em} .muted{color:#777}
.card{background:#fff;border:1px solid #ddd;border-left:5px solid #6a3d9a;border-radius:4px;padding:.6em 1em;margin:.6em 0}
.card.open{border-left-color:#d62728} .badge{display:inline-block;padding:0 .5em;border-radius:3px;font-size:.85em;color:#fff;background:#888;margin-left:.5em}
.open .badge{background:#d62728} table{border-collapse:collapse;margin-top:.4em} td,th{padding:.15em .6em;text-align:left;vertical-align:top}
th{font-weight:600;color:#555;border-bottom:1px solid #ddd} ul{margin:.1em 0;padding-left:1.2em}
#timeline svg{max-width:100%;height:auto;background:#fff}
</style></head><body>
<h1>RuntimeSlicer live</h1>
<div id="status" class="muted">connecting...</div>
<h2>Runtime state, last 24 h of data time</h2>
<div id="timeline" class="muted">no decided slice yet</div>
<h2>Incidents <span id="count" class="muted"></span></h2>
<div id="incidents" class="muted">none yet</div>
<script>
const token = new URLSearchParams(location.search).get('token');
const q = token ? ('?token=' + encodeURIComponent(token)) : '';
const q2 = token ? ('&token=' + encodeURIComponent(token)) : '';
function t(s){ return new Date(s*1000).toISOString().replace('T',' ').replace('.000Z','Z'); }
function el(tag, text, cls){ const e=document.createElement(tag); if(text!==undefined) e.textContent=text; if(cls) e.className=cls; return e; }
async function refresh(){
  try {
    const st = await (await fetch('/api/state?last=1' + q2)).json();
    const s = document.getElementById('status'); s.textContent=''; s.className='';
    const last = st.slices.length ? st.slices[st.slices.length-1] : null;
    s.append(el('span','data time: ' + (st.watermark ? t(st.watermark) : '-')),
             el('span','slices decided: ' + st.slices_decided),
             el('span','open incidents: ' + st.open_incidents),
             el('span', last ? ('last slice: score ' + last.score.toFixed(2) + ' / threshold ' + last.threshold.toFixed(2) + (last.alarm ? ' ALARM' : '')) : ''));
    const w = st.metric_warmup;
    if (w && w.slices > 0 && w.until === null)  // the metrics cannot alarm or rank yet
      s.append(el('span', 'metrics warming up: ' + w.slices + ' slices without a KPI baseline of ' + w.min_points + ' points', 'muted'));
    if (st.slices_decided > 0) {
      const svg = await (await fetch('/api/timeline.svg' + q)).text();
      const tl = document.getElementById('timeline'); tl.className=''; tl.innerHTML = svg;
    }
    const r = await (await fetch('/api/incidents' + q)).json();
    const box = document.getElementById('incidents');
    document.getElementById('count').textContent = '(' + r.incidents.length + ')';
    if (!r.incidents.length) return;
    box.textContent=''; box.className='';
    for (const inc of r.incidents.slice().reverse()) {
      const c = el('div', undefined, 'card' + (inc.open ? ' open' : ''));
      const h = el('div'); h.append(el('b', t(inc.start) + ' .. ' + t(inc.end)), el('span', inc.open ? 'open' : 'closed', 'badge'));
      c.append(h, el('div', 'peak score ' + inc.peak_score.toFixed(2) + ', runtime state ' + inc.state +
               (inc.fault_type.label ? (', fault type ' + inc.fault_type.label + ' (' + (100*inc.fault_type.confidence).toFixed(0) + '%)') : '') +
               alarmedBy(inc), 'muted'));
      if (!inc.root_causes.length || inc.root_causes[0].score < 1)
        c.append(el('div', 'no clear root cause: the strongest signal is common in this data (surprise below 1)', 'muted'));
      const tb = el('table'); const hr = el('tr'); hr.append(el('th','#'), el('th','root cause'), el('th','score'), el('th','evidence')); tb.append(hr);
      inc.root_causes.forEach((rc, i) => {
        const tr = el('tr'); const ev = el('td'); const ul = el('ul');
        for (const e of rc.evidence) ul.append(el('li', e));
        ev.append(ul); tr.append(el('td', String(i+1)), el('td', rc.entity), el('td', rc.score.toFixed(2)), ev); tb.append(tr);
      });
      c.append(tb); box.append(c);
    }
  } catch (e) {
    const s = document.getElementById('status'); s.className='muted'; s.textContent = 'cannot reach the server: ' + e;
  }
}
// which AD scores passed their threshold, on how many of the incident's alarmed slices
function alarmedBy(inc) {
  const parts = Object.entries(inc.alarmed_by || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return parts.length ? ', alarmed by the ' + parts.map(([p, n]) => p + ' (' + n + (n === 1 ? ' slice' : ' slices') + ')').join(', the ') : '';
}
refresh(); setInterval(refresh, 2000);
</script></body></html>
)HTML";
}

}  // namespace rslicer
