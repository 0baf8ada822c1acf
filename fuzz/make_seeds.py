#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/*_fuzz.cc) into
OUT/<target>/: small valid inputs in each target's input layout (selector
byte, parts split on "\\n@@\\n"), so the fuzzers start past the headers and
the JSON structure instead of finding them byte by byte. With the shared
TrainTicket data present, a few lines of its real nezha files are added.

    python3 fuzz/make_seeds.py OUT [SHARED_DATA_DIR]
"""
import gzip
import json
import os
import struct
import sys

out = sys.argv[1]
shared = sys.argv[2] if len(sys.argv) > 2 else None
SEP = "\n@@\n"


def seed(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- csv: selector (delimiter: 0 ',', 1 tab, 2 ';', 3 '|') + file
seed("csv", "plain", '0a,b,c\n1,"x,y",3\n"multi\nline",2,"q""q"\n\n,,\n')
seed("csv", "tab", "1a\tb\r\n1\t\"2\"\t3\r\n")
seed("csv", "unterminated", '0a,b\n"open,1\n2,3\n')
seed("csv", "gzip", b"0" + gzip.compress(b'a,b\n1,"2"\n'))

# --- log_line: one or more raw log lines
seed("log_line", "docker", '{"log":"16:42:22.382 INFO  t.s.TravelServiceImpl#532 text\\n","stream":"stdout","time":"2023-01-29T08:42:22.383Z"}')
seed("log_line", "escapes", '{"log":"\\u00e9 \\"q\\" \\t[ERROR] x","stream":"stderr"}')
seed("log_line", "levels", "[ERROR] text\n2023-01-29 08:00:00,123 WARN text\nlevel=error msg=boom\n16:42:22.382 DEBUG l#1 y\n")

# --- otlp: mode byte (0 any, 1-3 traces/metrics/logs JSON, 4-6 protobuf, 7 file reader)
pod = ('{"attributes":[{"key":"service.name","value":{"stringValue":"ts-order-service"}},'
       '{"key":"k8s.pod.name","value":{"stringValue":"ts-order-service-5d4f8c9b7-abcde"}},'
       '{"key":"k8s.node.name","value":{"stringValue":"node-3"}}]}')
metrics = ('{"resourceMetrics":[{"resource":' + pod + ',"scopeMetrics":[{"scope":{"name":"x"},"metrics":['
           '{"name":"cpu","gauge":{"dataPoints":[{"timeUnixNano":"1674981669000000000","asDouble":0.25},'
           '{"timeUnixNano":"1674981729000000000","asDouble":"NaN"}]}},'
           '{"name":"requests","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":['
           '{"timeUnixNano":1674981669000000000,"asInt":"42","attributes":[{"key":"method","value":{"stringValue":"GET"}}]}]}},'
           '{"name":"latency","histogram":{"dataPoints":[{"timeUnixNano":"1674981669000000000","count":"4","sum":2.0,'
           '"bucketCounts":["1","3"],"explicitBounds":[0.5],"min":0.1,"max":0.9}]}},'
           '{"name":"eh","exponentialHistogram":{"dataPoints":[{"timeUnixNano":"1674981669000000000","count":"2","sum":1.0,"flags":1}]}},'
           '{"name":"rt","summary":{"dataPoints":[{"timeUnixNano":"1674981669000000000","count":"2","sum":3.0,'
           '"quantileValues":[{"quantile":0.5,"value":1.0},{"quantile":0.999,"value":2.0}]}]}}]}]},'
           '{"resource":{"attributes":[{"key":"host.name","value":{"stringValue":"node-3"}}]},"scopeMetrics":[{"metrics":['
           '{"name":"system.cpu.utilization","gauge":{"dataPoints":[{"timeUnixNano":"1674981669000000000","asDouble":0.5}]}}]}]}]}')
spans = ('{"resourceSpans":[{"resource":' + pod + ',"scopeSpans":[{"spans":['
         '{"traceId":"8609fbd1b13573b2b5f70109be0b4246","spanId":"2403bd74459921c7","name":"GET /order",'
         '"kind":2,"startTimeUnixNano":"1674981669537000000","endTimeUnixNano":"1674981669604429060",'
         '"attributes":[{"key":"http.response.status_code","value":{"intValue":"200"}}],"status":{}},'
         '{"traceId":"hgn70LE1c7K19wEJvgtCRg==","spanId":"kHO8myy4JJs=","parentSpanId":"2403bd74459921c7",'
         '"name":"db","startTimeUnixNano":"1674981669538000000","endTimeUnixNano":"1674981669540000000",'
         '"status":{"code":2,"message":"boom"}},'
         '{"traceId":"8609fbd1b13573b2b5f70109be0b4246","spanId":"aaaabbbbccccdddd","parentSpanId":"ffffffffffffffff",'
         '"name":"http","startTimeUnixNano":"1674981669539000000","endTimeUnixNano":"1674981669541000000",'
         '"attributes":[{"key":"rpc.grpc.status_code","value":{"intValue":4}}]}]}]},'
         '{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"ts-gateway-service"}}]},'
         '"instrumentationLibrarySpans":[{"spans":[{"traceId":"t2","spanId":"s2","name":"/*","startTimeUnixNano":"1674981670000000000",'
         '"endTimeUnixNano":"1674981670000001000","status":{"code":"STATUS_CODE_OK"}}]}]}]}')
logs = ('{"resourceLogs":[{"resource":' + pod + ',"scopeLogs":[{"logRecords":['
        '{"timeUnixNano":"1674981669600000000","severityText":"WARN","severityNumber":13,'
        '"body":{"stringValue":"order slow"},"traceId":"8609fbd1b13573b2b5f70109be0b4246","spanId":"2403bd74459921c7"},'
        '{"observedTimeUnixNano":"1674981669700000000","severityNumber":17,"body":{"stringValue":"db failed"}},'
        '{"timeUnixNano":"1674981669800000000","body":{"kvlistValue":{"values":[{"key":"a","value":{"intValue":"1"}}]}}}]}]}]}')
faults = ('[{"start":"2023-01-29T08:43:04Z","end":"2023-01-29T08:46:04Z","level":"pod",'
          '"root_cause":"ts-order-service-5d4f8c9b7-abcde","fault_type":"cpu"},'
          '{"start":1674981669,"duration_s":60,"level":"node","root_cause":"node-3"}]')
seed("otlp", "any_metrics", "0" + metrics)
seed("otlp", "any_spans", "0" + spans)
seed("otlp", "any_logs", "0" + logs)
seed("otlp", "traces", "1" + spans)
seed("otlp", "metrics", "2" + metrics)
seed("otlp", "logs", "3" + logs)
seed("otlp", "file", "7" + metrics + "\n" + spans + "\n" + logs + "\n" + SEP + faults)
seed("otlp", "file_faults_object", "7" + spans + SEP + '{"faults":' + faults + "}")

# --- aiops22: parts, each: selector (header: 0 own, 1 trace, 2 metric, 3 log,
#     4 ground truth, 5 service; + 6 * folder: 0 flat, 1 metric/container,
#     2 metric/node, 3 metric/service, 4 groundtruth) + rows
def sel(header, folder):
    return chr(ord("0") + header + 6 * folder)

trace_rows = ("1647705600361,frontend-0,a1,t1,1200,http,200,hipstershop.Frontend/Recv.,\n"
              "1647705600362,node-6.adservice2-0,b2,t1,300,rpc,2 Error,AdService/GetAds,a1\n")
metric_rows = "1647705600,node-6.adservice2-0,container_cpu_usage_seconds,0.5\n1647705660,node-6.adservice2-0,container_cpu_usage_seconds,0.6\n"
node_rows = "1647705600,node-6,system.cpu.pct_usage,12.5\n"
istio_rows = "1647705600,frontend-0.source.frontend.destination.adservice,istio_requests.grpc.0.2.0,1\n"
log_rows = 'id1,1647705600,frontend-0,log_frontend-service_application,"severity: ERROR, message: boom"\n'
gt_rows = "1647705700,pod,adservice2-0,k8s容器cpu负载\n1647706000,service,frontend,k8s容器网络延迟\n"
svc_rows = "adservice-grpc,1647705600,100.0,99.5,12.3,40\n"
seed("aiops22", "all", sel(1, 0) + trace_rows + SEP + sel(2, 1) + metric_rows + SEP + sel(3, 0) + log_rows + SEP + sel(4, 4) + gt_rows)
seed("aiops22", "node_service", sel(2, 2) + node_rows + SEP + sel(5, 3) + svc_rows + SEP + sel(2, 0) + istio_rows)
seed("aiops22", "own_header", sel(0, 0) + "timestamp,cmdb_id,kpi_name,value\n" + metric_rows)
seed("aiops22", "iso_times", sel(2, 0) + "2022-03-20 16:00:00,frontend-0,k,1\n2022-03-20T16:01:00+08:00,frontend-0,k,2\n")

# --- nezha: parts, each: selector (0 pod metrics, 1 front_service, 2 trace,
#     3 log, 4 fault list; + 5: the file's header is put in front) + content
metric_csv = ("1674981669,ts-auth-service-7f8d7d756d-k7b9j,2.3,16.5,1153.7\n"
              "2023-01-29 08:42:09.051821335 +0000 UTC m=+60.127983206,1674981729,ts-auth-service-7f8d7d756d-k7b9j,NaN,,1\n")
front_csv = "2023-01-29 08:41:09.043078357 +0000 UTC m=+0.119240217,1674981669,Frontend,0,0.09\n"
trace_csv = ("b0103bb0161ad7fa352fe1828eeb643a,520b067330e3ede5,root,ts-gateway-service-6f6cfc45b-h5m2n,/*,1674981768697000000,1674981769015316530,318316\n"
             "b0103bb0161ad7fa352fe1828eeb643a,a4424f20bffee416,520b067330e3ede5,ts-auth-service-7f8d7d756d-k7b9j,handle,1674981768697763387,1674981769015072039,317308\n")
log_csv = ('2023-01-29T08:42:22.383150913Z,1674981742383150913,33.33.33.116,ts-auth-service-7f8d7d756d-k7b9j,server,'
           'ffc8ca7e4c8f06c75142c880d5595d96,439bc949a9eeb0cc,"{""log"":""16:42:22.382 INFO  t.s.X#532 hello\\n"",""stream"":""stdout"",""time"":""2023-01-29T08:42:22.383150913Z""}"\n'
           '2023-01-29T08:42:23Z,-6795364578871345152,33.33.33.116,ts-auth-service-7f8d7d756d-k7b9j,server,,,"{""log"":""ERROR x""}"\n')
fault_json = json.dumps({"08": [{"inject_time": "2023-01-29 08:43:04", "inject_timestamp": "1674953044",
                                 "inject_pod": "ts-auth-service-7f8d7d756d-k7b9j", "inject_type": "return"}]})
seed("nezha", "day", "5" + metric_csv + SEP + "6" + front_csv + SEP + "7" + trace_csv + SEP + "8" + log_csv + SEP + "4" + fault_json)
seed("nezha", "trace_status", "2TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration,StatusCode\n"
     "t,s,root,ts-a-1-x,op,1674981768697000000,1674981769015316530,318316,503\n")
if shared:
    day = os.path.join(shared, "trainticket/nezha/rca_data/2023-01-29")
    def head(path, n):
        with gzip.open(path, "rt") if path.endswith(".gz") else open(path) as f:
            return "".join(next(f, "") for _ in range(n))
    if os.path.isdir(day):
        m = sorted(p for p in os.listdir(os.path.join(day, "metric")) if "_metric" in p)[0]
        t = sorted(os.listdir(os.path.join(day, "trace")))[0]
        l = sorted(os.listdir(os.path.join(day, "log")))[0]
        seed("nezha", "trainticket_excerpt",
             "0" + head(os.path.join(day, "metric", m), 4) + SEP + "2" + head(os.path.join(day, "trace", t), 6) + SEP +
             "3" + head(os.path.join(day, "log", l), 4) + SEP + "4" + head(os.path.join(day, "2023-01-29-fault_list.json"), 14) + "]}")

# --- wide: parts, each: selector (0 data.csv with a header, 1 data.csv bringing its own, 2 columns.csv,
#     3 faults.json, 4 logs.csv, 5 traces.csv, 6 inject_time.txt, 7 metrics.csv) + content
wide_rows = "1700000000,0.5,12,100\n1700000060,NaN,13,101\n1700000120,0.7,,102\n"
seed("wide", "re1", "0" + wide_rows + SEP + "6" + "1700000060\n")
seed("wide", "mapped", "1ts,cpu of cart,mem\n1700000000,0.5,7\n" + SEP + "2cpu of cart,cart,cpu,service\nmem,db-0,mem,pod\n" + SEP +
     "3" + json.dumps([{"start": 1700000060, "root_cause": "cart", "fault_type": "cpu"}]))
seed("wide", "re2", "7time,cart_container-cpu,node-1_node-cpu\n1700000000,0.1,0.2\n" + SEP +
     "4" + "1700000000,1700000000123456789,cart-0,GET /cart failed,error\n" + SEP +
     "5" + "1700000000,t1,s1,cart,GET,/cart,1700000000123,1700000000123456,1500,200,\n1700000000,t1,s2,db,Q,select,1700000000124,1700000000124000,300,500,s1\n")

# --- tokenizer_json: small byte-level BPE tokenizer.json documents
byte_chars = [chr(c) for c in range(ord("!"), ord("~") + 1)] + ["Ġ", "Ċ", "ĉ", "ö"]
vocab = {c: i for i, c in enumerate(byte_chars)}
for t in ["He", "ll", "llo", "Hello", "Ġw", "Ġwor", "12"]:
    vocab[t] = len(vocab)
merges = ["H e", "l l", "ll o", "He llo", "Ġ w", "Ġw o", "1 2"]
gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
tok = {"version": "1.0", "truncation": None, "padding": None,
       "added_tokens": [{"id": len(vocab), "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                         "rstrip": False, "normalized": False, "special": True}],
       "normalizer": {"type": "NFC"},
       "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
           {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
            "behavior": "Isolated", "invert": False},
           {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
       "post_processor": {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                                                    {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}],
                          "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [len(vocab)]}}},
       "decoder": {"type": "ByteLevel"},
       "model": {"type": "BPE", "dropout": None, "unk_token": None, "byte_fallback": False, "ignore_merges": False,
                 "vocab": vocab, "merges": merges}}
seed("tokenizer_json", "qwen3_like", json.dumps(tok, ensure_ascii=False))
tok2 = dict(tok)
tok2["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "use_regex": True}
tok2["post_processor"] = {"type": "ByteLevel"}
tok2["normalizer"] = None
tok2["model"] = dict(tok["model"], merges=[m.split(" ") for m in merges])
seed("tokenizer_json", "pairs_bytelevel", json.dumps(tok2))
tok3 = dict(tok2)
tok3["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"String": " "}, "behavior": "Removed", "invert": False},
    {"type": "ByteLevel", "use_regex": False}]}
tok3["post_processor"] = {"type": "RobertaProcessing", "cls": ["<|endoftext|>", len(vocab)], "sep": ["<|endoftext|>", len(vocab)]}
seed("tokenizer_json", "split_string", json.dumps(tok3))

# --- model_files: mode byte (0 one safetensors file, 1 index + 2 shards, 2 config.json)
def safetensors(tensors, metadata=None):
    header, blob = {}, b""
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob

st1 = safetensors({"model.embed_tokens.weight": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
                   "model.norm.weight": ("BF16", [2], b"\x80\x3f\x00\x40"),
                   "scalar": ("F16", [], b"\x00\x3c")}, {"format": "pt"})
st2 = safetensors({"model.layers.0.mlp.up_proj.weight": ("I8", [3], b"\x01\x02\x03"), "empty": ("U8", [0], b"")})
seed("model_files", "single", b"0" + st1)
index = json.dumps({"metadata": {"total_size": 24},
                    "weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                                   "model.norm.weight": "model-00001-of-00002.safetensors",
                                   "scalar": "model-00001-of-00002.safetensors",
                                   "model.layers.0.mlp.up_proj.weight": "model-00002-of-00002.safetensors",
                                   "empty": "model-00002-of-00002.safetensors"}})
seed("model_files", "sharded", b"1" + index.encode() + SEP.encode() + st1 + SEP.encode() + st2)
config = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 151669, "hidden_size": 1024,
          "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
          "intermediate_size": 3072, "rms_norm_eps": 1e-06, "rope_theta": 1000000, "max_position_embeddings": 40960,
          "tie_word_embeddings": True, "attention_bias": False, "hidden_act": "silu", "torch_dtype": "bfloat16",
          "eos_token_id": 151643, "rope_scaling": None, "use_sliding_window": False, "sliding_window": None}
seed("model_files", "config", "2" + json.dumps(config))
seed("model_files", "config_small", "2" + json.dumps({"model_type": "qwen3", "vocab_size": 64, "hidden_size": 32,
                                                       "num_hidden_layers": 2, "num_attention_heads": 4}))
