/* An ETF's price chart: candles, and the volume in a pane underneath.
   Data: fetched from the chart's data-source once the page is shown (so the page costs the
   same whatever the history's length): {"points": [[date, open, high, low, close, volume],
   ...]} oldest first. Library: TradingView Lightweight Charts (static/vendor/lightweight-charts). */
"use strict";

(function () {
  function cssColour(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // "2024-03-01  O 3.160  H 3.171  L 3.124  C 3.137  V 7,101,400": the bar under the pointer,
  // or the latest one.
  function showBarInLegend(chart, points) {
    const legend = document.getElementById("price-chart-legend");
    if (!legend || !points.length) {
      return;
    }
    const byTime = new Map(points.map((point) => [point[0], point]));
    const grouped = new Intl.NumberFormat("en-US");
    function show(point) {
      const [time, open, high, low, close, volume] = point;
      const price = (value) => value.toFixed(3);
      legend.textContent =
        `${time}  O ${price(open)}  H ${price(high)}  L ${price(low)}  C ${price(close)}` +
        `  V ${grouped.format(volume)}`;
    }
    const latest = points[points.length - 1];
    show(latest);
    chart.subscribeCrosshairMove((param) => {
      const key = typeof param.time === "string" ? param.time : null;
      show((key && byTime.get(key)) || latest);
    });
  }

  function loadPriceChart() {
    const container = document.getElementById("price-chart");
    if (!container || !container.dataset.source || !window.LightweightCharts) {
      return;
    }
    fetch(container.dataset.source, { credentials: "same-origin" })
      .then((response) => {
        if (!response.ok) {
          throw new Error(`HTTP ${response.status}`);
        }
        return response.json();
      })
      .then((data) => drawPriceChart(container, data.points))
      .catch((error) => {
        container.textContent = `The chart could not be loaded (${error.message}).`;
      });
  }

  function drawPriceChart(container, points) {
    const charts = window.LightweightCharts;
    // Chinese market convention: red for a day that closed higher, green for lower.
    const up = "#c62828";
    const down = "#2e7d32";
    const chart = charts.createChart(container, {
      autoSize: true,
      layout: {
        background: { type: "solid", color: cssColour("--body-bg", "#ffffff") },
        textColor: cssColour("--body-fg", "#333333"),
      },
      grid: {
        vertLines: { color: cssColour("--hairline-color", "#e8e8e8") },
        horzLines: { color: cssColour("--hairline-color", "#e8e8e8") },
      },
      timeScale: { borderVisible: false },
      rightPriceScale: { borderVisible: false },
    });
    const candles = chart.addSeries(charts.CandlestickSeries, {
      upColor: up,
      downColor: down,
      borderUpColor: up,
      borderDownColor: down,
      wickUpColor: up,
      wickDownColor: down,
      priceFormat: { type: "price", precision: 3, minMove: 0.001 },
    });
    const volume = chart.addSeries(
      charts.HistogramSeries,
      { priceFormat: { type: "volume" }, priceLineVisible: false, lastValueVisible: false },
      1,
    );
    candles.setData(
      points.map(([time, open, high, low, close]) => ({ time, open, high, low, close })),
    );
    volume.setData(
      points.map(([time, open, , , close, value]) => ({
        time,
        value,
        color: close >= open ? "rgba(198, 40, 40, 0.5)" : "rgba(46, 125, 50, 0.5)",
      })),
    );
    showBarInLegend(chart, points);
    chart.panes()[0].setStretchFactor(3);
    chart.panes()[1].setStretchFactor(1);
    chart.timeScale().fitContent();
    // For people and tests alike: how many bars the chart holds.
    container.dataset.points = String(candles.data().length);
    window.etfsyncPriceChart = { chart, candles, volume };
  }

  document.addEventListener("DOMContentLoaded", loadPriceChart);
})();
