package image

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pkg/errors"
	"github.com/seed-1e5c3c91/image/internal/testregistry"
)

const (
	busyboxArchive = "oci-archive:testdata/busybox.oci.tar"
	tinyArchive    = "oci-archive:testdata/tiny.oci.tar"
)

// pullOne pulls name and fails the test unless exactly one image comes back.
func pullOne(t *testing.T, rt *Runtime, name string, policy PullPolicy, opts *PullOptions) *Image {
	t.Helper()
	images, err := rt.Pull(context.Background(), name, policy, opts)
	if err != nil {
		t.Fatalf("pulling %s: %v", name, err)
	}
	if len(images) != 1 {
		t.Fatalf("pulling %s: %d images, want 1", name, len(images))
	}
	return images[0]
}

func TestPullPlain(t *testing.T) {
	reg := startRegistry(t, nil)
	want := readFacts(t, "busybox")
	d := seed(t, reg, busyboxArchive, "lib/busybox:1")
	if d.String() != want.ManifestDigests["registry_after_skopeo_copy"] {
		t.Errorf("registry manifest digest %s, skopeo recorded %s", d, want.ManifestDigests["registry_after_skopeo_copy"])
	}
	rt, rec := newPullRuntime(t, reg.Host)
	name := reg.Host + "/lib/busybox:1"
	img := pullOne(t, rt, name, PullMissing, nil)
	if img.ID() != want.ID {
		t.Errorf("ID %s, want %s", img.ID(), want.ID)
	}
	if got := img.Names(); len(got) != 1 || got[0] != name {
		t.Errorf("names %v, want [%s]", got, name)
	}
	if img.Digest() != d {
		t.Errorf("digest %s, want %s", img.Digest(), d)
	}
	if ev := rec.take(); len(ev) != 1 || ev[0] != (Event{Type: EventPull, ID: want.ID, Name: name}) {
		t.Errorf("events %+v", ev)
	}
	// The same through docker:// and the layers as recorded.
	rt2, _ := newPullRuntime(t, reg.Host)
	img2 := pullOne(t, rt2, "docker://"+name, PullAlways, nil)
	layer, err := rt2.store.Layer(img2.TopLayer())
	if err != nil {
		t.Fatal(err)
	}
	if img2.ID() != want.ID || layer.UncompressedDigest.String() != want.DiffIDs[0] {
		t.Errorf("docker:// pull: ID %s diff ID %s, want %s %s", img2.ID(), layer.UncompressedDigest, want.ID, want.DiffIDs[0])
	}
}

func TestPullByDigest(t *testing.T) {
	reg := startRegistry(t, nil)
	d := seed(t, reg, busyboxArchive, "lib/busybox:1")
	rt, rec := newPullRuntime(t, reg.Host)
	name := reg.Host + "/lib/busybox@" + d.String()
	img := pullOne(t, rt, name, PullMissing, nil)
	if got := img.Names(); len(got) != 1 || got[0] != name {
		t.Errorf("names %v, want [%s]", got, name)
	}
	if ev := rec.take(); len(ev) != 1 || ev[0].Name != name {
		t.Errorf("events %+v", ev)
	}
	// A tag and a digest: the digest wins, as NormalizeName stores it.
	img = pullOne(t, rt, reg.Host+"/lib/busybox:1@"+d.String(), PullAlways, nil)
	if got := img.Names(); len(got) != 1 || got[0] != name {
		t.Errorf("tag and digest: names %v, want [%s]", got, name)
	}
}

func TestPullPolicies(t *testing.T) {
	reg := startRegistry(t, nil)
	seed(t, reg, busyboxArchive, "lib/app:1")
	busybox, tiny := readFacts(t, "busybox"), readFacts(t, "tiny")
	rt, rec := newPullRuntime(t, reg.Host)
	ctx := context.Background()
	name := reg.Host + "/lib/app:1"
	reg.ResetStats()
	before := snapshotStore(t, rt)
	_, err := rt.Pull(ctx, name, PullNever, nil)
	if !errors.Is(err, ErrImageUnknown) || !strings.Contains(err.Error(), name) {
		t.Errorf("never, nothing local: %v, want ErrImageUnknown naming %s", err, name)
	}
	assertUnchanged(t, rt, before)
	if ev := rec.take(); len(ev) != 1 || ev[0].Type != EventPullError || ev[0].Name != name || ev[0].Error == nil {
		t.Errorf("never: events %+v", ev)
	}
	if reg.Stats().Requests != 0 {
		t.Errorf("never went to the registry: %+v", reg.Stats())
	}

	steps := []struct {
		policy    PullPolicy
		moveTag   bool // seed tiny under the tag first
		wantID    string
		wantPull  bool // a pull event, blobs fetched
		wantAsked bool // the registry was asked for the manifest
	}{
		{PullMissing, false, busybox.ID, true, true},
		{PullMissing, false, busybox.ID, false, false},
		{PullNever, false, busybox.ID, false, false},
		{PullNewer, false, busybox.ID, false, true},
		{PullAlways, false, busybox.ID, true, true},
		{PullMissing, true, busybox.ID, false, false},
		{PullNever, false, busybox.ID, false, false},
		{PullNewer, false, tiny.ID, true, true},
		{PullNewer, false, tiny.ID, false, true},
	}
	for k, s := range steps {
		if s.moveTag {
			seed(t, reg, tinyArchive, "lib/app:1")
		}
		reg.ResetStats()
		img := pullOne(t, rt, name, s.policy, nil)
		st := reg.Stats()
		if img.ID() != s.wantID {
			t.Errorf("step %d (%s): image %s, want %s", k, s.policy, img.ID(), s.wantID)
		}
		ev := rec.take()
		if pulled := len(ev) == 1 && ev[0].Type == EventPull && ev[0].ID == s.wantID; pulled != s.wantPull || (!s.wantPull && len(ev) != 0) {
			t.Errorf("step %d (%s): events %+v, want pull %v", k, s.policy, ev, s.wantPull)
		}
		if fetched := len(st.BlobFetches) > 0; fetched != s.wantPull {
			t.Errorf("step %d (%s): blob fetches %v, want some: %v", k, s.policy, st.BlobFetches, s.wantPull)
		}
		if asked := st.ManifestFetches["1"] > 0; asked != s.wantAsked {
			t.Errorf("step %d (%s): manifest fetches %v, want some: %v", k, s.policy, st.ManifestFetches, s.wantAsked)
		}
	}
	if old := mustLookup(t, rt, busybox.ID); len(old.Names()) != 0 {
		t.Errorf("the name did not move from the old image: %v", old.Names())
	}
}

func TestParsePullPolicy(t *testing.T) {
	for _, c := range []struct {
		in   string
		want PullPolicy
	}{{"always", PullAlways}, {"Always", PullAlways}, {"missing", PullMissing}, {"ifnotpresent", PullMissing},
		{"newer", PullNewer}, {"ifnewer", PullNewer}, {"never", PullNever}} {
		got, err := ParsePullPolicy(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParsePullPolicy(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		if s := c.want.String(); s != strings.ToLower(c.want.String()) || s == "unknown" {
			t.Errorf("%d.String() = %q", c.want, s)
		}
	}
	if _, err := ParsePullPolicy("sometimes"); !errors.Is(err, ErrInvalidPullPolicy) || !strings.Contains(err.Error(), `"sometimes"`) {
		t.Errorf("ParsePullPolicy(sometimes): %v", err)
	}
	if s := PullPolicy(0).String(); s != "unknown" {
		t.Errorf("PullPolicy(0).String() = %q", s)
	}
	rt, rec := newPullRuntime(t)
	if _, err := rt.Pull(context.Background(), "busybox", PullPolicy(9), nil); !errors.Is(err, ErrInvalidPullPolicy) {
		t.Errorf("Pull with policy 9: %v", err)
	}
	if ev := rec.take(); len(ev) != 1 || ev[0].Type != EventPullError {
		t.Errorf("events %+v", ev)
	}
}

func TestPullShortNames(t *testing.T) {
	first, second := startRegistry(t, nil), startRegistry(t, nil)
	seed(t, second, busyboxArchive, "tools/busybox:latest")
	seed(t, first, tinyArchive, "aliases/real:latest")
	seed(t, second, busyboxArchive, "aliased:latest")
	busybox, tiny := readFacts(t, "busybox"), readFacts(t, "tiny")
	search := []string{first.Host, second.Host}
	alias := fmt.Sprintf("[aliases]\n\"aliased\" = %q\n", first.Host+"/aliases/real")

	t.Run("second search registry", func(t *testing.T) {
		rt, _ := newTestRuntime(t)
		useRegistries(t, rt, search, "permissive", "", first.Host, second.Host)
		img := pullOne(t, rt, "tools/busybox", PullMissing, nil)
		if want := second.Host + "/tools/busybox:latest"; img.ID() != busybox.ID || img.Names()[0] != want {
			t.Errorf("pulled %s %v, want %s [%s]", img.ID(), img.Names(), busybox.ID, want)
		}
		if n := first.Stats().ManifestFetches["latest"]; n != 1 {
			t.Errorf("first registry asked %d times, want 1", n)
		}
		// Found locally through the search registries the second time.
		second.ResetStats()
		pullOne(t, rt, "tools/busybox", PullMissing, nil)
		if second.Stats().Requests != 0 {
			t.Errorf("missing policy went to the registry for a local image")
		}
	})
	t.Run("alias wins", func(t *testing.T) {
		rt, _ := newTestRuntime(t)
		useRegistries(t, rt, []string{second.Host}, "permissive", alias, first.Host, second.Host)
		img := pullOne(t, rt, "aliased", PullAlways, nil)
		if img.ID() != tiny.ID || img.Names()[0] != first.Host+"/aliases/real:latest" {
			t.Errorf("pulled %s %v, want the alias's image %s", img.ID(), img.Names(), tiny.ID)
		}
	})
	t.Run("enforcing", func(t *testing.T) {
		rt, rec := newTestRuntime(t)
		useRegistries(t, rt, search, "enforcing", alias, first.Host, second.Host)
		before := snapshotStore(t, rt)
		_, err := rt.Pull(context.Background(), "tools/busybox", PullMissing, nil)
		if !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), first.Host+"/tools/busybox:latest") ||
			!strings.Contains(err.Error(), second.Host+"/tools/busybox:latest") {
			t.Errorf("enforcing: %v, want ErrAmbiguous listing both candidates", err)
		}
		assertUnchanged(t, rt, before)
		if ev := rec.take(); len(ev) != 1 || ev[0].Type != EventPullError {
			t.Errorf("events %+v", ev)
		}
		if img := pullOne(t, rt, "aliased", PullMissing, nil); img.ID() != tiny.ID {
			t.Errorf("enforcing with an alias: %s, want %s", img.ID(), tiny.ID)
		}
	})
	t.Run("nowhere", func(t *testing.T) {
		rt, _ := newTestRuntime(t)
		useRegistries(t, rt, search, "permissive", "", first.Host, second.Host)
		_, err := rt.Pull(context.Background(), "absent", PullMissing, nil)
		if err == nil || !strings.Contains(err.Error(), first.Host+"/absent") || !strings.Contains(err.Error(), second.Host+"/absent") {
			t.Errorf("absent everywhere: %v, want both candidates' errors", err)
		}
	})
}

func TestPullAllTags(t *testing.T) {
	reg := startRegistry(t, nil)
	seed(t, reg, busyboxArchive, "lib/all:a")
	seed(t, reg, tinyArchive, "lib/all:b")
	rt, rec := newPullRuntime(t, reg.Host)
	images, err := rt.Pull(context.Background(), reg.Host+"/lib/all", PullAlways, &PullOptions{AllTags: true})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{reg.Host + "/lib/all:a"}, {reg.Host + "/lib/all:b"}}
	if got := namesOf(images); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("names %v, want %v", got, want)
	}
	if ev := rec.take(); len(ev) != 2 {
		t.Errorf("events %+v, want two pulls", ev)
	}
	images, err = rt.Pull(context.Background(), "docker://"+reg.Host+"/lib/all", PullAlways, &PullOptions{AllTags: true})
	if err != nil || fmt.Sprint(namesOf(images)) != fmt.Sprint(want) {
		t.Errorf("docker:// all tags: %v, %v", namesOf(images), err)
	}
	for _, bad := range []string{reg.Host + "/lib/all:a", "oci-archive:testdata/tiny.oci.tar"} {
		if _, err := rt.Pull(context.Background(), bad, PullAlways, &PullOptions{AllTags: true}); !errors.Is(err, ErrAllTags) {
			t.Errorf("all tags of %s: %v, want ErrAllTags", bad, err)
		}
	}
}

// TestPullOtherTransports: a whole docker-archive, oci-archive or OCI layout of one image is
// pulled with the names Load gives it (podman names it from the archive); one event, with
// the first name. A reference that selects an image by index keeps it unnamed.
func TestPullOtherTransports(t *testing.T) {
	tiny := readFacts(t, "tiny")
	for _, c := range []struct{ transport, input string }{
		{"docker-archive", "tiny.docker.tar"},
		{"oci-archive", "tiny.oci.tar"},
		{"oci-archive", "busybox.oci.tar"},
		{"oci", "busybox.oci"},
	} {
		t.Run(c.transport+":"+c.input, func(t *testing.T) {
			loader, _ := newTestRuntime(t)
			loaded := mustLoad(t, loader, c.input)
			if len(loaded) != 1 || len(loaded[0].Names) == 0 {
				t.Fatalf("loading %s: %+v, want one named image", c.input, loaded)
			}
			rt, rec := newPullRuntime(t)
			img := pullOne(t, rt, c.transport+":"+testdataPath(c.input), PullMissing, nil)
			if img.ID() != loaded[0].ID || !slices.Equal(img.Names(), loaded[0].Names) {
				t.Errorf("pulled %s %v, want %s %v as load gives", img.ID(), img.Names(), loaded[0].ID, loaded[0].Names)
			}
			if ev := rec.take(); len(ev) != 1 || ev[0] != (Event{Type: EventPull, ID: loaded[0].ID, Name: loaded[0].Names[0]}) {
				t.Errorf("events %+v", ev)
			}
		})
	}
	rt, rec := newPullRuntime(t)
	img := pullOne(t, rt, "docker-archive:"+testdataPath("tiny.docker.tar")+":@0", PullMissing, nil)
	if img.ID() != tiny.ID || len(img.Names()) != 0 {
		t.Errorf("docker-archive by index: %s %v, want %s unnamed", img.ID(), img.Names(), tiny.ID)
	}
	if ev := rec.take(); len(ev) != 1 || ev[0] != (Event{Type: EventPull, ID: tiny.ID}) {
		t.Errorf("events %+v", ev)
	}
}

func TestPullTLS(t *testing.T) {
	reg := startRegistry(t, &testregistry.Options{TLS: true})
	seed(t, reg, busyboxArchive, "lib/busybox:1")
	name := reg.Host + "/lib/busybox:1"
	for _, c := range tlsCases(reg) {
		t.Run(c.name, func(t *testing.T) {
			rt, _ := newPullRuntime(t)
			before := snapshotStore(t, rt)
			_, err := rt.Pull(context.Background(), name, PullAlways, &PullOptions{RegistryOptions: c.opts})
			if c.ok && err != nil {
				t.Fatal(err)
			}
			if !c.ok {
				if err == nil || !strings.Contains(err.Error(), "certificate") {
					t.Errorf("got %v, want a certificate error", err)
				}
				assertUnchanged(t, rt, before)
			}
		})
	}
}

func TestPullAuth(t *testing.T) {
	const password = "s3cret-Pa55word"
	reg := startRegistry(t, &testregistry.Options{TLS: true, Username: "puller", Password: password})
	seed(t, reg, busyboxArchive, "lib/busybox:1")
	name := reg.Host + "/lib/busybox:1"
	logs := captureLogs(t)
	for _, c := range authCases(t, reg, password) {
		t.Run(c.name, func(t *testing.T) {
			rt, rec := newPullRuntime(t)
			before := snapshotStore(t, rt)
			_, err := rt.Pull(context.Background(), name, PullAlways, &PullOptions{RegistryOptions: c.opts})
			checkAuthResult(t, err, c.ok, rec.take(), password)
			if !c.ok {
				assertUnchanged(t, rt, before)
			}
		})
	}
	checkLogsClean(t, logs, password)
}

func TestPullSignaturePolicy(t *testing.T) {
	reg := startRegistry(t, nil)
	seed(t, reg, busyboxArchive, "lib/busybox:1")
	rt, rec := newPullRuntime(t, reg.Host)
	writeFile(t, rt.sys.SignaturePolicyPath, fmt.Sprintf(
		`{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{%q:[{"type":"reject"}]}}}`, reg.Host+"/lib"))
	before := snapshotStore(t, rt)
	_, err := rt.Pull(context.Background(), reg.Host+"/lib/busybox:1", PullAlways, nil)
	if err == nil || !strings.Contains(err.Error(), "rejected") {
		t.Errorf("got %v, want a policy rejection", err)
	}
	assertUnchanged(t, rt, before)
	if ev := rec.take(); len(ev) != 1 || ev[0].Type != EventPullError || ev[0].Error == nil {
		t.Errorf("events %+v", ev)
	}
}

func TestPullProgress(t *testing.T) {
	reg := startRegistry(t, nil)
	seed(t, reg, busyboxArchive, "lib/busybox:1")
	rt, _ := newPullRuntime(t, reg.Host)
	progress, received := collectProgress()
	var report bytes.Buffer
	pullOne(t, rt, reg.Host+"/lib/busybox:1", PullAlways, &PullOptions{ReportWriter: &report, Progress: progress})
	checkProgress(t, report.String(), received(), layerDigest(t, readFacts(t, "busybox")))
}

func TestPullConcurrent(t *testing.T) {
	reg := startRegistry(t, nil)
	seed(t, reg, busyboxArchive, "lib/busybox:1")
	rt, _ := newPullRuntime(t, reg.Host)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	ids := make([]string, 10)
	for k := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			images, err := rt.Pull(context.Background(), reg.Host+"/lib/busybox:1", PullAlways, nil)
			errs[k] = err
			if err == nil {
				ids[k] = images[0].ID()
			}
		}()
	}
	wg.Wait()
	want := readFacts(t, "busybox").ID
	for k := range errs {
		if errs[k] != nil || ids[k] != want {
			t.Errorf("pull %d: %s, %v", k, ids[k], errs[k])
		}
	}
	if st := snapshotStore(t, rt); len(st.Images) != 1 || len(st.Layers) != 1 {
		t.Errorf("store after 10 pulls: %+v", st)
	}
}
