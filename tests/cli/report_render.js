// Renders every chart of an HTML report with the embedded ECharts' server-side SVG renderer:
// the report's options are what ECharts accepts and draws (kpi_cli_test runs it when node is
// installed — scripts/setup.sh installs it). Usage: node report_render.js REPORT.html ECHARTS_DIR
'use strict';
const fs = require('fs');
const html = fs.readFileSync(process.argv[2], 'utf8');
const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
if (scripts.length !== 2) throw new Error('expected the library and the charts script, got ' + scripts.length);
const echarts = require(process.argv[3]);
const found = scripts[1].match(/var options=(\[[\s\S]*?\]);\nvar enc/);
if (!found) throw new Error('no options array in the charts script');
const options = JSON.parse(found[1]);
options.forEach((option, i) => {
  const chart = echarts.init(null, null, {renderer: 'svg', ssr: true, width: 800, height: 340});
  chart.setOption(option);
  const svg = chart.renderToSVGString();
  if (!svg.startsWith('<svg')) throw new Error('chart ' + i + ' did not render');
  console.log('chart ' + i + ' rendered: ' + option.series.length + ' series, ' + svg.length + ' bytes of SVG');
  chart.dispose();
});
