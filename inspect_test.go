package image

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"testing"
)

// referenceOrder is the order the reference store was loaded in (testdata/README.md), minus
// the two archives too big to ship (debian-minbase, big100): none of the values compared here
// depends on them.
var referenceOrder = []string{
	"busybox.docker.tar", "chain.multi.docker.tar", "layers20.docker.tar", "tiny.docker.tar",
	"tiny-whiteout.docker.tar", "bud-app.docker.tar",
}

// recordedImages are the images whose podman inspect output is in testdata/, by file stem and
// the name to look them up with.
var recordedImages = []struct{ stem, name string }{
	{"busybox", "localhost/busybox:latest"},
	{"chain-base", "localhost/chain-base:latest"},
	{"chain-mid", "localhost/chain-mid:latest"},
	{"chain-top", "localhost/chain-top:latest"},
	{"layers20", "localhost/layers20:latest"},
	{"tiny", "localhost/tiny:latest"},
	{"tiny-whiteout", "localhost/tiny-whiteout:latest"},
	{"bud-app", "localhost/bud-app:latest"},
}

// readRecordedInspect decodes testdata/<stem>.inspect.json (podman's output, an array of one).
func readRecordedInspect(t *testing.T, stem string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(testdataPath(stem + ".inspect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var arr []map[string]any
	if err := json.Unmarshal(raw, &arr); err != nil || len(arr) != 1 {
		t.Fatalf("decoding %s.inspect.json: %v (%d entries)", stem, err, len(arr))
	}
	return arr[0]
}

// asJSONMap renders v as JSON and decodes it generically, so it compares with podman's output.
func asJSONMap(t *testing.T, v any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestInspectMatchesPodman loads the archives as the reference store was loaded and compares
// every field of Inspect with what podman recorded.
func TestInspectMatchesPodman(t *testing.T) {
	rt, _ := newTestRuntime(t)
	mustLoad(t, rt, referenceOrder...)
	ctx := context.Background()
	for _, rec := range recordedImages {
		t.Run(rec.stem, func(t *testing.T) {
			want := readRecordedInspect(t, rec.stem)
			data, err := mustLookup(t, rt, rec.name).Inspect(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := asJSONMap(t, data)
			for _, field := range []string{"Id", "Digest", "RepoTags", "RepoDigests", "Parent", "Comment",
				"Created", "Config", "Version", "Author", "Architecture", "Os", "Size", "VirtualSize",
				"GraphDriver", "RootFS", "Labels", "Annotations", "ManifestType", "User", "History", "NamesHistory", "Healthcheck"} {
				if !reflect.DeepEqual(got[field], want[field]) {
					t.Errorf("%s: got %v, podman recorded %v", field, got[field], want[field])
				}
			}
			if len(got) != len(want) {
				t.Errorf("got %d fields, podman recorded %d: %v", len(got), len(want), keys(got))
			}
		})
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
