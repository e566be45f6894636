package testregistry

import (
	"maps"
	"net/http"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
)

// Stats counts what a registry served, by kind of request. Maps are keyed by blob digest or
// manifest reference (tag or digest), as the request named it.
type Stats struct {
	// Requests is every request, whatever its answer.
	Requests int
	// Authorized is the requests that carried an Authorization header.
	Authorized int
	// BlobUploads counts the blob uploads the registry completed (201 to a PUT, or to a
	// POST with a digest), by digest.
	BlobUploads map[digest.Digest]int
	// BlobMounts counts the blobs mounted from another repository (201 to a POST with
	// mount=).
	BlobMounts int
	// BlobFetches counts the GETs of blobs, by digest, whatever the answer.
	BlobFetches map[digest.Digest]int
	// BlobChecks counts the HEADs of blobs, by digest.
	BlobChecks map[digest.Digest]int
	// ManifestPuts counts the manifests stored, by reference.
	ManifestPuts map[string]int
	// ManifestFetches counts the GETs of manifests, by reference.
	ManifestFetches map[string]int
}

// Uploads returns the number of blob uploads completed, all digests together.
func (s Stats) Uploads() int {
	n := 0
	for _, c := range s.BlobUploads {
		n += c
	}
	return n
}

// recorder counts requests for Stats.
type recorder struct {
	mu    sync.Mutex // guards stats
	stats Stats
}

func newRecorder() *recorder {
	r := &recorder{}
	r.reset()
	return r
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats = Stats{
		BlobUploads: map[digest.Digest]int{}, BlobFetches: map[digest.Digest]int{},
		BlobChecks: map[digest.Digest]int{}, ManifestPuts: map[string]int{},
		ManifestFetches: map[string]int{},
	}
}

func (r *recorder) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.BlobUploads = maps.Clone(s.BlobUploads)
	s.BlobFetches = maps.Clone(s.BlobFetches)
	s.BlobChecks = maps.Clone(s.BlobChecks)
	s.ManifestPuts = maps.Clone(s.ManifestPuts)
	s.ManifestFetches = maps.Clone(s.ManifestFetches)
	return s
}

// wrap returns h with every request counted once it has been answered.
func (r *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, req)
		r.count(req, sw.status)
	})
}

func (r *recorder) count(req *http.Request, status int) {
	kind, ref := classify(req.URL.Path)
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.stats
	s.Requests++
	if req.Header.Get("Authorization") != "" {
		s.Authorized++
	}
	created := status == http.StatusCreated
	switch {
	case kind == kindUpload && created && req.URL.Query().Get("mount") != "":
		s.BlobMounts++
	case kind == kindUpload && created:
		s.BlobUploads[digest.Digest(req.URL.Query().Get("digest"))]++
	case kind == kindBlob && req.Method == http.MethodGet:
		s.BlobFetches[digest.Digest(ref)]++
	case kind == kindBlob && req.Method == http.MethodHead:
		s.BlobChecks[digest.Digest(ref)]++
	case kind == kindManifest && req.Method == http.MethodPut && created:
		s.ManifestPuts[ref]++
	case kind == kindManifest && req.Method == http.MethodGet:
		s.ManifestFetches[ref]++
	}
}

// The kinds of registry API paths.
const (
	kindOther = iota
	kindBlob
	kindUpload
	kindManifest
)

// classify returns the kind of a /v2/ API path and the reference it ends with (a blob digest,
// a manifest tag or digest, an upload ID).
func classify(path string) (int, string) {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return kindOther, ""
	}
	for _, k := range []struct {
		sep  string
		kind int
	}{{"/blobs/uploads/", kindUpload}, {"/blobs/uploads", kindUpload}, {"/blobs/", kindBlob}, {"/manifests/", kindManifest}} {
		if i := strings.LastIndex(rest, k.sep); i > 0 {
			return k.kind, rest[i+len(k.sep):]
		}
	}
	return kindOther, ""
}

// statusWriter remembers the status code written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush on, for handlers that stream.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
