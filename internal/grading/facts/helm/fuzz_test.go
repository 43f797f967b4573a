package helm

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log"
	"os"
	"testing"
)

// FuzzDecodeRelease feeds arbitrary bytes to the decoding path of one
// release Secret, then builds its facts: nothing may panic, and whatever
// decodes stays within the limits. Each input is tried three ways so the
// fuzzer reaches every layer: as the Secret's value itself, as base64 of
// uncompressed JSON, and as base64 of gzipped JSON.
//
// An input that reaches the whole path (a valid release: CoalesceValues,
// manifest YAML) takes about a millisecond, so Go's minimization of each new
// interesting input (-fuzzminimizetime, 60s by default) stalls the exec
// counter; run with a smaller budget:
//
//	go test ./internal/grading/facts/helm -run '^$' -fuzz FuzzDecodeRelease -fuzztime 60s -fuzzminimizetime 200x
func FuzzDecodeRelease(f *testing.F) {
	for _, r := range webRevisions {
		b, err := json.Marshal(release("web", r))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(encode(f, release("web", r)))
	}
	for _, s := range []string{
		`{"name":"x","info":{"status":"deployed"},"chart":{"metadata":{"name":"c"},"values":{"a":{"b":1}}},"config":{"a":null,"global":{"x":1}},"manifest":"---\na: 1\n"}`,
		`{"name":"x","info":{"first_deployed":""},"chart":{"metadata":{}},"manifest":"--- x\n"}`,
		`{"name":"x","info":{"resources":{"v1/Pod":[{}]}},"chart":{"metadata":{}}}`,
		`{"name":"x","info":{},"chart":{"metadata":{},"values":{"global":1}},"config":{"global":{"a":1}}}`,
		`{"name":"x","info":{},"chart":{"metadata":{},"values":{"a":1}},"config":{"a":{"b":2}}}`,
		`[]`, `null`, `{}`, "\x1f\x8b\x08",
	} {
		f.Add([]byte(s))
	}
	// The SDK's CoalesceValues logs type clashes with log.Printf, as helm
	// does; thousands of them a second only slow the fuzzer down.
	log.SetOutput(io.Discard)
	f.Cleanup(func() { log.SetOutput(os.Stderr) })
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return // keep the fuzzer fast; the size limits have their own tests
		}
		gzipped := b64(gzFast(t, data))
		// One collection for the three, as Collect reuses its decoder.
		c := &collection{budget: MaxDecodedTotal}
		for _, payload := range [][]byte{data, b64(data), gzipped} {
			facts := releaseFacts(ns, "x", []stored{{secret: "sh.helm.release.v1.x.v1", revision: 1, payload: payload}}, c)
			if msg, failed := facts["error"].(string); failed {
				if msg == "" {
					t.Fatal("empty error message")
				}
				continue
			}
			if n := len(facts["manifestObjects"].([]any)); n > MaxManifestObjects {
				t.Fatalf("%d manifest objects", n)
			}
			if len(facts["history"].([]any)) != 1 {
				t.Fatal("history lost the revision")
			}
		}
		// Whatever decodes is within the limits and has what the facts read.
		if rls, size, err := decodeRelease(gzipped); size > MaxDecodedSize || size < 0 {
			t.Fatalf("decoded %d bytes", size)
		} else if err == nil && (rls.Name == "" || rls.Info == nil || rls.Chart == nil || rls.Chart.Metadata == nil) {
			t.Fatal("validated a release without name, info or chart metadata")
		}
	})
}

// gzFast is gz at BestSpeed: the level does not matter to the decoder, and
// BestCompression's state allocation dominates a fuzz exec.
func gzFast(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
