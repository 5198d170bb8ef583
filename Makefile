# SPDX-License-Identifier: LGPL-2.1-or-later
# The two README commands, plus the usual helpers. Everything builds out of tree in $(BUILD).
BUILD ?= build
MESON_BUILD ?= build-meson
JOBS ?= $(shell nproc)
DEMO_SECONDS ?= 15
ANALYZE_SECONDS ?= 10
RECORD_SECONDS ?= 10
# Extra CMake options, e.g. CMAKE_ARGS="-DCMAKE_BUILD_TYPE=Release -DKEEPUP_WERROR=ON".
CMAKE_ARGS ?=
BENCH_ARGS ?=
BENCH_SINK_ARGS ?=
BENCH_TRACER_ARGS ?=
BENCH_DETECT_ARGS ?=
BENCH_ANALYTICS_ARGS ?=
BENCH_RECORD_ARGS ?=
# Run the apps against the plugins in the build tree, not an installed copy.
RUN_ENV = GST_PLUGIN_PATH_1_0=$(CURDIR)/$(BUILD)/plugins GST_PLUGIN_PATH=$(CURDIR)/$(BUILD)/plugins
SOURCES = $(shell git ls-files '*.cpp' '*.hpp' '*.hpp.in' 2>/dev/null || find elements plugins pipelines tests bench -name '*.[ch]pp')

.PHONY: all deps configure build test demo bench bench-overload bench-sink bench-tracer bench-detect bench-analytics bench-record bench-models model meson install format format-check clean

all: build

deps:
	bash .ci/install-deps

configure: deps
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 300

# The demo runs with the stagelatency tracer on: its summary ends the output, and its
# JSON lines become an HTML report.
DEMO_TRACERS ?= stagelatency(interval=5,gap-ms=1000,file=$(CURDIR)/$(BUILD)/demo-trace.jsonl,trace-file=$(CURDIR)/$(BUILD)/demo-trace.json)

demo: build
	$(RUN_ENV) GST_TRACERS="$(DEMO_TRACERS)" $(BUILD)/bin/keepup-overload-demo --seconds $(DEMO_SECONDS) --output $(BUILD)/overload-demo.ts
	$(BUILD)/bin/keepup-trace-report $(BUILD)/demo-trace.jsonl -o $(BUILD)/demo-report.html
	@echo "recording: $(BUILD)/overload-demo.ts  report: $(BUILD)/demo-report.html  trace (Perfetto): $(BUILD)/demo-trace.json"
	@echo; echo "== analytics: the built-in traffic scene through detect -> track -> overlay =="
	$(RUN_ENV) $(BUILD)/bin/keepup-analyze test --seconds $(ANALYZE_SECONDS) --output $(BUILD)/analytics-demo.ts \
	    --meta $(BUILD)/analytics-demo.jsonl --gt $(BUILD)/analytics-demo-gt.txt
	$(BUILD)/bin/keepup-mot-eval $(BUILD)/analytics-demo-gt.txt $(BUILD)/analytics-demo.jsonl
	@echo "annotated recording: $(BUILD)/analytics-demo.ts  tracks: $(BUILD)/analytics-demo.jsonl"
	@echo; echo "== WHIP recorder: keepup-record + keepup-whip-publish over loopback =="
	$(RUN_ENV) bash pipelines/record/demo.sh $(BUILD) $(RECORD_SECONDS)

bench: bench-overload bench-sink bench-tracer bench-detect bench-analytics bench-record

bench-overload: build
	$(RUN_ENV) $(BUILD)/bin/keepup-bench-overload $(BENCH_ARGS)

bench-tracer: build
	$(RUN_ENV) $(BUILD)/bin/keepup-bench-tracer $(BENCH_TRACER_ARGS)

bench-sink: build
	$(RUN_ENV) $(BUILD)/bin/keepup-bench-sink --dir $(BUILD) $(BENCH_SINK_ARGS)

bench-analytics: build
	$(RUN_ENV) $(BUILD)/bin/keepup-bench-analytics $(BENCH_ANALYTICS_ARGS)

bench-record: build
	$(RUN_ENV) $(BUILD)/bin/keepup-bench-record $(BENCH_RECORD_ARGS)

# Random-weight YOLOv8n/11n/v5n at real size for bench-detect (needs python3-torch).
bench-models:
	bash bench/make-models.sh $(BUILD)/bench-models

bench-detect: build bench-models
	$(RUN_ENV) $(BUILD)/bin/keepup-bench-detect --models $(BUILD)/bench-models $(BENCH_DETECT_ARGS)

# Retrains the bundled traffic detector (python3-torch, about 25 minutes on 2 cores) and
# exports it at 320 and 640. The committed models/keepup-traffic-*.onnx come from this.
model: build
	/usr/bin/python3 models/tools/train_traffic.py --gen $(BUILD)/bin/keepup-traffic-gen \
	    --out $(BUILD)/keepup-traffic-320.onnx
	/usr/bin/python3 models/tools/train_traffic.py --export-only $(BUILD)/keepup-traffic-320.pt \
	    --size 640 --out $(BUILD)/keepup-traffic-640.onnx --gen $(BUILD)/bin/keepup-traffic-gen
	@echo "copy $(BUILD)/keepup-traffic-{320,640}.onnx and .labels to models/ to ship them"

meson: deps
	rm -rf $(MESON_BUILD)
	meson setup $(MESON_BUILD) meson-compat
	ninja -C $(MESON_BUILD)

install: build
	cmake --install $(BUILD)

format:
	clang-format -i $(SOURCES)

format-check:
	clang-format --dry-run --Werror $(SOURCES)

clean:
	rm -rf $(BUILD) $(MESON_BUILD)
