package image

import (
	"context"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/errors"
	"go.podman.io/image/v5/docker/reference"
)

// ErrInvalidFilter: a list filter has an unknown key or a bad value.
var ErrInvalidFilter = errors.New("invalid filter")

// filterFunc reports whether an image passes one filter; g is the call's snapshot.
type filterFunc func(ctx context.Context, g *graph, img *Image) (bool, error)

// compiledFilters are a call's filters, parsed once: every group must pass (AND); within a
// group one filter must pass (OR: the several reference= values).
type compiledFilters [][]filterFunc

// compileFilters parses filters (SEMANTICS §7): "key=value" or "key!=value". Keys: before,
// since and after (an image name), until (a timestamp or a duration before now), dangling,
// intermediate, readonly, containers (true or false), label (key or key=value), reference (a
// glob over the full name, the name without registry, and the last component, each with and
// without tag; "@digest" must match one of the image's digests), id (an ID prefix), digest
// (a digest prefix, "sha256:…"). Several reference= values OR together; everything else ANDs.
// An unknown key or a bad value is an error wrapping ErrInvalidFilter that quotes the filter.
func (r *Runtime) compileFilters(filters []string) (compiledFilters, error) {
	var out compiledFilters
	var refs []filterFunc
	for _, f := range filters {
		key, value, negate, err := splitFilter(f)
		if err != nil {
			return nil, err
		}
		fn, err := r.compileFilter(key, value)
		if err != nil {
			return nil, errors.Wrapf(ErrInvalidFilter, "filter %q: %s", f, err.Error())
		}
		if negate {
			fn = negateFilter(fn)
		}
		if key == "reference" && !negate {
			refs = append(refs, fn)
			continue
		}
		out = append(out, []filterFunc{fn})
	}
	if len(refs) > 0 {
		out = append(out, refs)
	}
	return out, nil
}

// splitFilter splits "key=value" or "key!=value".
func splitFilter(f string) (key, value string, negate bool, err error) {
	key, value, ok := strings.Cut(f, "=")
	if !ok || key == "" {
		return "", "", false, errors.Wrapf(ErrInvalidFilter, "filter %q: want key=value or key!=value", f)
	}
	if k, neg := strings.CutSuffix(key, "!"); neg {
		key, negate = k, true
	}
	return key, value, negate, nil
}

func (r *Runtime) compileFilter(key, value string) (filterFunc, error) {
	switch key {
	case "before", "since", "after":
		return r.compileTimeFilter(key, value)
	case "until":
		until, err := parseUntil(value, time.Now())
		if err != nil {
			return nil, err
		}
		return func(_ context.Context, _ *graph, img *Image) (bool, error) {
			return img.Created().Before(until), nil
		}, nil
	case "dangling", "intermediate", "readonly", "containers":
		return compileBoolFilter(key, value)
	case "label":
		return compileLabelFilter(value), nil
	case "reference":
		return compileReferenceFilter(value)
	case "id":
		id := strings.TrimPrefix(value, "sha256:")
		if !isHex(id) {
			return nil, errors.New("an ID prefix is hex digits")
		}
		return func(_ context.Context, _ *graph, img *Image) (bool, error) {
			return strings.HasPrefix(img.ID(), id), nil
		}, nil
	case "digest":
		if !strings.HasPrefix(value, "sha256:") {
			return nil, errors.New(`a digest prefix starts with "sha256:"`)
		}
		return func(_ context.Context, _ *graph, img *Image) (bool, error) {
			for _, d := range img.Digests() {
				if strings.HasPrefix(d.String(), value) {
					return true, nil
				}
			}
			return false, nil
		}, nil
	}
	return nil, errors.New("unknown key")
}

func negateFilter(fn filterFunc) filterFunc {
	return func(ctx context.Context, g *graph, img *Image) (bool, error) {
		ok, err := fn(ctx, g, img)
		return !ok, err
	}
}

// compileTimeFilter: before=NAME passes images created before NAME's image; since=NAME and
// after=NAME those created after it.
func (r *Runtime) compileTimeFilter(key, value string) (filterFunc, error) {
	ref, _, err := r.LookupImage(value, nil)
	if err != nil {
		return nil, err
	}
	at := ref.Created()
	return func(_ context.Context, _ *graph, img *Image) (bool, error) {
		if key == "before" {
			return img.Created().Before(at), nil
		}
		return img.Created().After(at), nil
	}, nil
}

// needsChildren reports whether filters (already compiled without error) ask which images
// have children: dangling and intermediate do.
func needsChildren(filters []string) bool {
	for _, f := range filters {
		if key, _, _, err := splitFilter(f); err == nil && (key == "dangling" || key == "intermediate") {
			return true
		}
	}
	return false
}

func compileBoolFilter(key, value string) (filterFunc, error) {
	want, err := strconv.ParseBool(value)
	if err != nil {
		return nil, errors.New("the value is true or false")
	}
	return func(ctx context.Context, g *graph, img *Image) (bool, error) {
		var got bool
		var err error
		switch key {
		case "dangling":
			got, err = g.isDangling(ctx, img)
		case "intermediate":
			got, err = g.isIntermediate(ctx, img)
		case "readonly":
			got = img.IsReadOnly()
		case "containers":
			var counts map[string]int
			counts, err = g.containerCounts()
			got = counts[img.ID()] > 0
		}
		return got == want, err
	}, nil
}

// compileLabelFilter: label=key passes images with that label, label=key=value those with
// that value.
func compileLabelFilter(value string) filterFunc {
	k, v, withValue := strings.Cut(value, "=")
	return func(ctx context.Context, _ *graph, img *Image) (bool, error) {
		labels, err := img.Labels(ctx)
		if err != nil {
			return false, err
		}
		have, ok := labels[k]
		return ok && (!withValue || have == v), nil
	}
}

// compileReferenceFilter matches a glob against each name of the image, as podman does.
func compileReferenceFilter(value string) (filterFunc, error) {
	pattern, dgst, digested := strings.Cut(value, "@")
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, errors.New("bad glob")
	}
	return func(_ context.Context, _ *graph, img *Image) (bool, error) {
		if digested && !hasDigest(img, dgst) {
			return false, nil
		}
		for _, name := range img.Names() {
			ref, err := reference.ParseNormalizedNamed(name)
			if err != nil {
				continue
			}
			for _, c := range referenceCandidates(ref, digested) {
				if ok, _ := path.Match(pattern, c); ok {
					return true, nil
				}
			}
		}
		return false, nil
	}, nil
}

func hasDigest(img *Image, d string) bool {
	for _, have := range img.Digests() {
		if have.String() == d {
			return true
		}
	}
	return false
}

// referenceCandidates are the forms a reference glob is matched against: the full name, the
// path without registry and the last component, each with its tag (unless the pattern gave
// a digest, which is matched on its own) and without.
func referenceCandidates(ref reference.Named, repoOnly bool) []string {
	full := ref.Name()
	p := reference.Path(ref)
	last := full[strings.LastIndex(full, "/")+1:]
	out := []string{full, p, last}
	if tagged, ok := ref.(reference.Tagged); ok && !repoOnly {
		t := ":" + tagged.Tag()
		out = append(out, full+t, p+t, last+t)
	}
	return out
}

// parseUntil reads a timestamp (RFC 3339, a date, or Unix seconds) or a duration before now.
func parseUntil(value string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(value); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, value, time.Local); err == nil {
			return t, nil
		}
	}
	if secs, err := strconv.ParseFloat(value, 64); err == nil {
		return time.Unix(0, int64(secs*1e9)), nil
	}
	return time.Time{}, errors.New("not a timestamp or a duration")
}

// matches reports whether img passes every group of filters.
func (cf compiledFilters) matches(ctx context.Context, g *graph, img *Image) (bool, error) {
	for _, group := range cf {
		pass := false
		for _, fn := range group {
			ok, err := fn(ctx, g, img)
			if err != nil {
				return false, err
			}
			if ok {
				pass = true
				break
			}
		}
		if !pass {
			return false, nil
		}
	}
	return true, nil
}
