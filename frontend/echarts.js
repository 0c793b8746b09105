// The part of ECharts (npm `echarts`, pinned in package.json) that Moat's charts use: bar
// charts on a grid with tooltip and legend, drawn on canvas. scripts/build-site.sh bundles
// it with esbuild into /pkg/echarts.min.js, which Moat serves itself; the chart component
// (app/src/components/chart.rs) loads it on the first page that shows a chart.
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);
window.echarts = echarts;
