// An OpenTelemetry JS SDK application as a client of `rslicer serve`: it sends a fixed set of spans, metric
// points and log records through the SDK's real OTLP/HTTP exporters (from npm, see package.json) and prints
// one JSON line with what it sent.
//
//   node tests/serve/otel_js_client.mjs http://127.0.0.1:4318 proto|json [gzip]
//
// Exits 0 only when every export reported success and exactly the planned records went out; failures go to
// stderr. Talks to nothing but the given endpoint (the exporters get explicit URLs, so OTEL_EXPORTER_OTLP_*
// variables do not redirect them).
import { diag, DiagConsoleLogger, DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace }
  from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { OTLPTraceExporter as TraceProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as TraceJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPMetricExporter as MetricProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as MetricJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPLogExporter as LogProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as LogJson } from '@opentelemetry/exporter-logs-otlp-http';

const [base, protocol, compression = 'none'] = process.argv.slice(2);
if (!base || !['proto', 'json'].includes(protocol) || !['none', 'gzip'].includes(compression)) {
  console.error('usage: node otel_js_client.mjs BASE_URL proto|json [gzip]');
  process.exit(2);
}
// The SDK reports export errors, partial successes and dropped records through diag: show them on stderr.
diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

const TRACES = 10, SPANS_PER_TRACE = 5;  // 50 spans: a server span, two children, a grandchild under each
const LOG_RECORDS = 20;
const ROUTES = ['/cart', '/cart/items', '/checkout'], METHODS = ['GET', 'POST'];  // 6 counter points
const CPUS = 4;                                                                      // 4 observable gauge points
const POOL_STATES = ['idle', 'used'];                                                // 2 up-down counter points
const METRIC_POINTS = ROUTES.length * METHODS.length + CPUS + POOL_STATES.length + 1;  // + 1 synchronous gauge

const url = (signal) => `${base.replace(/\/$/, '')}/v1/${signal}`;
const options = (signal) => ({ url: url(signal), compression, timeoutMillis: 10000 });
const proto = protocol === 'proto';

// Each exporter wrapped: every export's result is recorded, and the records of the successful ones counted.
const failures = [];
const exported = { spans: 0, metric_points: 0, log_records: 0 };
function watched(exporter, what, count) {
  const w = {
    export(items, done) {
      exporter.export(items, (result) => {
        if (result.code === 0) exported[what] += count(items);
        else failures.push(`${what} export failed: ${result.error?.message ?? result.error ?? 'no reason given'}`);
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush(),
  };
  for (const m of ['selectAggregationTemporality', 'selectAggregation'])
    if (typeof exporter[m] === 'function') w[m] = exporter[m].bind(exporter);
  return w;
}
const countPoints = (rm) => rm.scopeMetrics.reduce(
  (n, sm) => n + sm.metrics.reduce((k, m) => k + m.dataPoints.length, 0), 0);

const resource = resourceFromAttributes({
  'service.name': 'shop-cart',
  'service.version': '1.4.2',
  'k8s.pod.name': 'shop-cart-7d9f8-abcde',
  'k8s.namespace.name': 'shop',
  'host.name': 'node-3',
});

const tracerProvider = new BasicTracerProvider({
  resource,
  spanProcessors: [new BatchSpanProcessor(
    watched(proto ? new TraceProto(options('traces')) : new TraceJson(options('traces')), 'spans', (s) => s.length),
    { maxExportBatchSize: 20, scheduledDelayMillis: 60000 })],
});
const metricReader = new PeriodicExportingMetricReader({
  exporter: watched(proto ? new MetricProto(options('metrics')) : new MetricJson(options('metrics')),
    'metric_points', countPoints),
  exportIntervalMillis: 3600000,  // no periodic export: the one at shutdown only
  exportTimeoutMillis: 10000,
});
const meterProvider = new MeterProvider({ resource, readers: [metricReader] });
const loggerProvider = new LoggerProvider({
  resource,
  processors: [new BatchLogRecordProcessor({
    exporter: watched(proto ? new LogProto(options('logs')) : new LogJson(options('logs')), 'log_records',
      (l) => l.length),
    maxExportBatchSize: 8,
    scheduledDelayMillis: 60000,
  })],
});

// Spans: data times in the last minute (Date objects: a number below the process start would be read as a
// performance.now() offset).
const tracer = tracerProvider.getTracer('shop-cart-test', '1.0.0');
const logger = loggerProvider.getLogger('shop-cart-test', '1.0.0');
const t0 = Date.now() - 60000;
const at = (ms) => new Date(t0 + ms);
let spans = 0, logs = 0;
const logSpans = [];
for (let i = 0; i < TRACES; ++i) {
  const start = i * 5000;
  const failing = i % 4 === 3;  // traces 3 and 7 fail in their database call
  const route = ROUTES[i % ROUTES.length];
  const root = tracer.startSpan(`GET ${route}`, {
    kind: SpanKind.SERVER, startTime: at(start),
    attributes: { 'http.request.method': 'GET', 'http.route': route, 'http.response.status_code': failing ? 500 : 200 },
  }, ROOT_CONTEXT);
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  for (const [k, name] of ['cart-service/getCart', 'pricing-service/quote'].entries()) {
    const child = tracer.startSpan(name, { kind: SpanKind.CLIENT, startTime: at(start + 10 + 100 * k) }, rootCtx);
    const grandchild = tracer.startSpan(k === 0 ? 'SELECT cart_items' : 'redis GET price', {
      kind: SpanKind.CLIENT, startTime: at(start + 20 + 100 * k),
      attributes: k === 0 ? { 'db.system': 'postgresql' } : { 'db.system': 'redis' },
    }, trace.setSpan(rootCtx, child));
    if (failing && k === 0) {
      grandchild.setStatus({ code: SpanStatusCode.ERROR, message: 'connection reset by peer' });
      child.setStatus({ code: SpanStatusCode.ERROR, message: 'cart lookup failed' });
    }
    grandchild.end(at(start + 60 + 100 * k));
    child.end(at(start + 80 + 100 * k));
    spans += 2;
    if (k === 0) logSpans.push(grandchild);
  }
  if (failing) root.setStatus({ code: SpanStatusCode.ERROR, message: 'HTTP 500' });
  root.end(at(start + 250));
  spans += 1;
  logSpans.push(root);
}

// Logs: half of them tied to a span (trace and span id from the context), a few warnings and errors.
for (let i = 0; i < LOG_RECORDS; ++i) {
  const span = i % 2 === 0 ? logSpans[i % logSpans.length] : null;
  const severity = i % 10 === 7 ? [SeverityNumber.ERROR, 'ERROR'] : i % 5 === 4 ? [SeverityNumber.WARN, 'WARN']
    : [SeverityNumber.INFO, 'INFO'];
  logger.emit({
    timestamp: at(i * 2500 + 30),
    severityNumber: severity[0],
    severityText: severity[1],
    body: severity[0] >= SeverityNumber.ERROR ? `failed to load cart ${1000 + i}: connection reset by peer`
      : `served cart ${1000 + i} with ${i % 7} items in ${12 + i} ms`,
    attributes: { 'cart.id': 1000 + i, 'code.function': 'CartHandler.get' },
    context: span ? trace.setSpan(ROOT_CONTEXT, span) : ROOT_CONTEXT,
  });
  ++logs;
}

// Metrics: one collection at shutdown, cumulative: one point per attribute set of each instrument.
const meter = meterProvider.getMeter('shop-cart-test', '1.0.0');
const requests = meter.createCounter('http.server.requests', { description: 'requests served' });
for (const [r, route] of ROUTES.entries())
  for (const [m, method] of METHODS.entries())
    requests.add(10 + 3 * r + m, { 'http.route': route, 'http.request.method': method });
const cpu = meter.createObservableGauge('system.cpu.utilization', { unit: '1' });
cpu.addCallback((result) => {
  for (let c = 0; c < CPUS; ++c) result.observe(0.2 + 0.1 * c, { 'cpu': String(c) });
});
const pool = meter.createUpDownCounter('db.client.connections.usage');
pool.add(7, { state: 'idle' });
pool.add(3, { state: 'used' });
meter.createGauge('cart.queue.depth').record(12);

let shutdownError = null;
try {
  await Promise.all([tracerProvider.forceFlush(), loggerProvider.forceFlush()]);
  await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown(), loggerProvider.shutdown()]);
} catch (e) {
  shutdownError = e;
}
const sent = { spans, metric_points: METRIC_POINTS, log_records: logs };
for (const k of Object.keys(sent))
  if (exported[k] !== sent[k]) failures.push(`${k}: ${exported[k]} exported successfully, ${sent[k]} planned`);
if (shutdownError) failures.push(`shutdown failed: ${shutdownError?.stack ?? shutdownError}`);
if (failures.length) {
  for (const f of failures) console.error(f);
  process.exit(1);
}
console.log(JSON.stringify(sent));
