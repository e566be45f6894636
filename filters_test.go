package image

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestListFilters runs every filter key of SEMANTICS §7, with negation and several
// references, on the reference store; the expected sets come from podman's recorded inspect
// values (names, labels, created times, digests).
func TestListFilters(t *testing.T) {
	rt, _ := newTestRuntime(t)
	mustLoad(t, rt, referenceOrder...)
	rec := map[string]map[string]any{} // stem → recorded inspect
	for _, r := range recordedImages {
		rec[r.stem] = readRecordedInspect(t, r.stem)
	}
	created := func(stem string) time.Time { return mustTime(t, rec[stem]["Created"].(string)) }
	all := func() []string { return stems(recordedImages) }
	where := func(pred func(stem string) bool) []string {
		var out []string
		for _, s := range all() {
			if pred(s) {
				out = append(out, s)
			}
		}
		return out
	}
	hasLabel := func(stem, key string) bool {
		labels, _ := rec[stem]["Labels"].(map[string]any)
		_, ok := labels[key]
		return ok
	}
	mid := created("chain-mid")
	busyboxDigest := rec["busybox"]["Digest"].(string)
	cases := []struct {
		filters []string
		want    []string
	}{
		{nil, all()},
		{[]string{"reference=localhost/busybox"}, []string{"busybox"}},
		{[]string{"reference=busybox"}, []string{"busybox"}},
		{[]string{"reference=busybox:latest"}, []string{"busybox"}},
		{[]string{"reference=chain-*"}, []string{"chain-base", "chain-mid", "chain-top"}},
		{[]string{"reference=*:v1"}, []string{"chain-top"}},
		{[]string{"reference=localhost/chain-top:v1"}, []string{"chain-top"}},
		{[]string{"reference=busybox", "reference=tiny"}, []string{"busybox", "tiny"}},
		{[]string{"reference!=chain-*"}, where(func(s string) bool { return !strings.HasPrefix(s, "chain-") })},
		{[]string{"reference=localhost/busybox@" + busyboxDigest}, []string{"busybox"}},
		{[]string{"reference=localhost/busybox@sha256:" + strings.Repeat("0", 64)}, nil},
		{[]string{"reference=localhost/tiny@" + busyboxDigest}, nil},
		{[]string{"label=org.example.stage"}, []string{"chain-base", "chain-mid", "chain-top"}},
		{[]string{"label=org.example.stage=mid"}, []string{"chain-mid"}},
		{[]string{"label!=org.example.stage"}, where(func(s string) bool { return !hasLabel(s, "org.example.stage") })},
		{[]string{"label=org.example.stage", "reference=chain-top"}, []string{"chain-top"}},
		{[]string{"id=63af"}, []string{"busybox"}},
		{[]string{"id=sha256:63af6f693ec3"}, []string{"busybox"}},
		{[]string{"id!=63af"}, where(func(s string) bool { return s != "busybox" })},
		{[]string{"digest=" + busyboxDigest[:15]}, []string{"busybox"}},
		{[]string{"before=chain-mid"}, where(func(s string) bool { return created(s).Before(mid) })},
		{[]string{"since=chain-mid"}, where(func(s string) bool { return created(s).After(mid) })},
		{[]string{"after=chain-mid"}, where(func(s string) bool { return created(s).After(mid) })},
		{[]string{"until=" + mid.Format(time.RFC3339Nano)}, where(func(s string) bool { return created(s).Before(mid) })},
		{[]string{"until=1h"}, where(func(s string) bool { return created(s).Before(time.Now().Add(-time.Hour)) })},
		{[]string{"until=2000-01-01"}, nil},
		{[]string{"readonly=false"}, all()},
		{[]string{"readonly=true"}, nil},
		{[]string{"dangling=true"}, nil},
		{[]string{"dangling=false"}, all()},
		{[]string{"intermediate=true"}, nil},
		{[]string{"containers=true"}, nil},
	}
	for _, c := range cases {
		assertListed(t, rt, c.filters, c.want)
	}

	// Make chain-mid intermediate, chain-top dangling, and give tiny a container.
	if err := mustLookup(t, rt, "chain-mid").Untag("chain-mid"); err != nil {
		t.Fatal(err)
	}
	top := mustLookup(t, rt, "chain-top")
	for _, n := range []string{"chain-top:latest", "chain-top:v1"} {
		if err := top.Untag(n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rt.Store().CreateContainer("", nil, mustLookup(t, rt, "tiny").ID(), "", "", nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		filters []string
		want    []string
	}{
		{[]string{"dangling=true"}, []string{"chain-top"}},
		{[]string{"dangling!=true"}, where(func(s string) bool { return s != "chain-top" })},
		{[]string{"intermediate=true"}, []string{"chain-mid"}},
		{[]string{"containers=true"}, []string{"tiny"}},
		{[]string{"containers=false", "reference=tiny*"}, []string{"tiny-whiteout"}},
	} {
		assertListed(t, rt, c.filters, c.want)
	}
}

func stems(images []struct{ stem, name string }) []string {
	var out []string
	for _, i := range images {
		out = append(out, i.stem)
	}
	return out
}

// assertListed lists with filters and compares the images (by recorded ID) with want.
func assertListed(t *testing.T, rt *Runtime, filters []string, want []string) {
	t.Helper()
	images, err := rt.ListImages(context.Background(), &ListOptions{Filters: filters})
	if err != nil {
		t.Errorf("%q: %v", filters, err)
		return
	}
	byID := map[string]string{}
	for _, r := range recordedImages {
		byID[readRecordedInspect(t, r.stem)["Id"].(string)] = r.stem
	}
	var got []string
	for _, img := range images {
		got = append(got, byID[img.ID()])
	}
	sort.Strings(got)
	w := append([]string(nil), want...)
	sort.Strings(w)
	if !reflect.DeepEqual(got, w) {
		t.Errorf("%q: got %v, want %v", filters, got, w)
	}
}

// TestListFiltersInvalid: a bad filter fails the call naming it.
func TestListFiltersInvalid(t *testing.T) {
	rt, _ := newTestRuntime(t)
	mustLoad(t, rt, "tiny.docker.tar")
	for _, f := range []string{"nokey", "=x", "foo=bar", "dangling=maybe", "containers=2", "until=yesterday",
		"id=xyz", "digest=abc", "before=nosuchimage", "reference=[", "label"} {
		_, err := rt.ListImages(context.Background(), &ListOptions{Filters: []string{"reference=tiny", f}})
		if !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("%q: error %v, want ErrInvalidFilter", f, err)
			continue
		}
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%q: error %q does not quote the filter", f, err)
		}
	}
}
