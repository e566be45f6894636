package testregistry

import (
	"bytes"
	"context"
	stderrors "errors"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	"github.com/pkg/errors"
)

// FaultKind says what a Fault does to the requests it matches.
type FaultKind int

// The faults a Proxy can inject.
const (
	// Status answers with Fault.Status (500 when 0) and a short registry error body.
	Status FaultKind = iota + 1
	// CutBody passes the request on, then ends the connection after Fault.Size bytes of the
	// response body, as a connection reset halfway through a download does.
	CutBody
	// Stall holds the request, answering nothing, until the client gives up or the proxy
	// closes.
	Stall
	// Corrupt passes the request on and changes the last byte of the response body, so
	// the body keeps its length but no longer matches its digest.
	Corrupt
	// Redirect answers 307 with the same path on the proxy's second server, on 127.0.0.2
	// (another host name, so a client must not send it the registry's Authorization
	// header), which serves the request from the registry with credentials of its own.
	Redirect
	// HugeBody answers with Fault.Status (500 when 0) and a body of Fault.Size bytes (1 GiB
	// when 0), written until the client stops reading.
	HugeBody
)

// Fault is what a Proxy does to the requests Match selects.
type Fault struct {
	Kind FaultKind
	// Match selects the requests; nil selects every request.
	Match func(*http.Request) bool
	// Times is how many matching requests the fault acts on; later ones pass untouched.
	// 0 means every matching request.
	Times int
	// Status is the status code of Status and HugeBody (default 500).
	Status int
	// Size is the body bytes CutBody lets through, or the length of HugeBody's body.
	Size int64
}

// BlobGet matches the GETs of blob d, or of every blob when d is "".
func BlobGet(d digest.Digest) func(*http.Request) bool {
	return func(req *http.Request) bool {
		kind, ref := classify(req.URL.Path)
		return req.Method == http.MethodGet && kind == kindBlob && (d == "" || ref == d.String())
	}
}

// ManifestGet matches the GETs of the manifest ref (a tag or a digest), or of every
// manifest when ref is "".
func ManifestGet(ref string) func(*http.Request) bool {
	return func(req *http.Request) bool {
		kind, r := classify(req.URL.Path)
		return req.Method == http.MethodGet && kind == kindManifest && (ref == "" || r == ref)
	}
}

// BlobUpload matches the requests that upload blobs (start, send data, commit).
func BlobUpload() func(*http.Request) bool {
	return func(req *http.Request) bool {
		kind, _ := classify(req.URL.Path)
		return kind == kindUpload
	}
}

// Injected is a fault added to a proxy, with what it has done so far.
type Injected struct {
	fault Fault
	mu    sync.Mutex // guards the counters below
	seen  int
	hits  int
	bytes int64
}

// Seen returns how many requests matched, including those passed once Times was reached.
func (f *Injected) Seen() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen
}

// Hits returns how many requests the fault acted on.
func (f *Injected) Hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

// BytesWritten returns the body bytes a HugeBody fault managed to write.
func (f *Injected) BytesWritten() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bytes
}

// take counts a matching request and reports whether the fault acts on it.
func (f *Injected) take() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen++
	if f.fault.Times > 0 && f.hits >= f.fault.Times {
		return false
	}
	f.hits++
	return true
}

func (f *Injected) addBytes(n int64) {
	f.mu.Lock()
	f.bytes += n
	f.mu.Unlock()
}

// Request is one request a proxy or its redirect target received.
type Request struct {
	Method, Path string
	// Range is the request's Range header, if any (a client resuming a download).
	Range string
	// Authorization reports whether the request carried an Authorization header.
	Authorization bool
}

// Proxy is a reverse proxy on loopback in front of a Registry, which injects faults. It
// serves the registry's scheme with the registry's certificate, so a client configured
// for the registry (cert dir, credentials) works through it unchanged. It is safe for
// concurrent use.
type Proxy struct {
	// Host is the proxy's "host:port", to use in image references instead of the
	// registry's.
	Host string

	reg      *Registry
	srv      *http.Server
	rp       *httputil.ReverseProxy
	redirect *redirectTarget
	closing  chan struct{}
	once     sync.Once

	mu     sync.Mutex // guards faults and log
	faults []*Injected
	log    []Request
}

// StartProxy starts a proxy in front of the registry on 127.0.0.1, and the server its
// Redirect faults point to on 127.0.0.2. The caller must Close it.
func (r *Registry) StartProxy() (*Proxy, error) {
	target, err := url.Parse(r.URL())
	if err != nil {
		return nil, errors.Wrap(err, "starting proxy")
	}
	p := &Proxy{reg: r, closing: make(chan struct{})}
	p.rp = r.reverseProxy(target, func(pr *httputil.ProxyRequest) { pr.Out.Host = pr.In.Host })
	p.rp.ModifyResponse = p.modifyResponse
	if p.redirect, err = startRedirectTarget(r, target); err != nil {
		return nil, errors.Wrap(err, "starting proxy")
	}
	srv, host, err := serve(context.Background(), "127.0.0.1:0", r.certs, http.HandlerFunc(p.serveHTTP))
	if err != nil {
		_ = p.redirect.close()
		return nil, errors.Wrap(err, "starting proxy")
	}
	p.srv, p.Host = srv, host
	return p, nil
}

// reverseProxy returns a reverse proxy to the registry at target, trusting its CA; rewrite,
// if not nil, adjusts each outgoing request after it is pointed at target.
func (r *Registry) reverseProxy(target *url.URL, rewrite func(*httputil.ProxyRequest)) *httputil.ReverseProxy {
	tr := &http.Transport{}
	if r.certs != nil {
		tr.TLSClientConfig = r.certs.clientConfig()
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			if rewrite != nil {
				rewrite(pr)
			}
		},
		Transport: tr,
		ErrorLog:  log.New(io.Discard, "", 0),
	}
}

// Inject adds a fault. Faults are tried in the order they were added; the first that
// matches a request and still acts acts on it.
func (p *Proxy) Inject(f Fault) *Injected {
	in := &Injected{fault: f}
	p.mu.Lock()
	p.faults = append(p.faults, in)
	p.mu.Unlock()
	return in
}

// Clear removes every fault.
func (p *Proxy) Clear() {
	p.mu.Lock()
	p.faults = nil
	p.mu.Unlock()
}

// Requests returns the requests the proxy received so far, in order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log...)
}

// Redirected returns the requests the redirect target on 127.0.0.2 received so far.
func (p *Proxy) Redirected() []Request { return p.redirect.requests() }

// Close stops the proxy and its redirect target; a stalled request is ended.
func (p *Proxy) Close() error {
	var err error
	p.once.Do(func() {
		close(p.closing)
		err = stderrors.Join(p.srv.Close(), p.redirect.close())
	})
	return err
}

// fault returns the fault that acts on req, or nil; every matching fault counts req.
func (p *Proxy) fault(req *http.Request) *Injected {
	p.mu.Lock()
	p.log = append(p.log, requestOf(req))
	faults := append([]*Injected(nil), p.faults...)
	p.mu.Unlock()
	var chosen *Injected
	for _, f := range faults {
		if (f.fault.Match == nil || f.fault.Match(req)) && f.take() && chosen == nil {
			chosen = f
		}
	}
	return chosen
}

func requestOf(req *http.Request) Request {
	return Request{Method: req.Method, Path: req.URL.Path, Range: req.Header.Get("Range"),
		Authorization: req.Header.Get("Authorization") != ""}
}

// faultKey carries the fault acting on a request to modifyResponse.
type faultKey struct{}

func (p *Proxy) serveHTTP(w http.ResponseWriter, req *http.Request) {
	f := p.fault(req)
	if f == nil {
		p.rp.ServeHTTP(w, req)
		return
	}
	switch f.fault.Kind {
	case Status:
		writeError(w, f.fault.Status)
	case HugeBody:
		writeHuge(w, f)
	case Stall:
		select {
		case <-req.Context().Done():
		case <-p.closing:
		}
		panic(http.ErrAbortHandler) // end the connection without an answer
	case Redirect:
		http.Redirect(w, req, p.redirect.url+req.URL.RequestURI(), http.StatusTemporaryRedirect)
	default: // CutBody, Corrupt: on the way back
		p.rp.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), faultKey{}, f)))
	}
}

// writeError answers with status (500 when 0) and a registry error body.
func writeError(w http.ResponseWriter, status int) {
	if status == 0 {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}`+"\n")
}

// writeHuge answers with a body of f's size, written until the client stops reading.
func writeHuge(w http.ResponseWriter, f *Injected) {
	status, size := f.fault.Status, f.fault.Size
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if size == 0 {
		size = 1 << 30
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for written := int64(0); written < size; {
		n, err := w.Write(chunk[:min(int64(len(chunk)), size-written)])
		written += int64(n)
		f.addBytes(int64(n))
		if err != nil {
			return
		}
	}
}

// modifyResponse applies CutBody and Corrupt to a response from the registry.
func (p *Proxy) modifyResponse(res *http.Response) error {
	f, _ := res.Request.Context().Value(faultKey{}).(*Injected)
	if f == nil || res.StatusCode/100 != 2 {
		return nil
	}
	switch f.fault.Kind {
	case CutBody:
		res.Body = &cutReader{ReadCloser: res.Body, left: f.fault.Size}
	case Corrupt:
		res.Body = &corruptReader{ReadCloser: res.Body, last: res.ContentLength - 1}
	}
	return nil
}

// cutReader fails with io.ErrUnexpectedEOF once left bytes have been read, which makes the
// reverse proxy abort the connection.
type cutReader struct {
	io.ReadCloser
	left int64
}

func (c *cutReader) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.ReadCloser.Read(b)
	c.left -= int64(n)
	return n, err
}

// corruptReader flips the byte at offset last (the body's last byte).
type corruptReader struct {
	io.ReadCloser
	off, last int64
}

func (c *corruptReader) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	if c.last >= c.off && c.last < c.off+int64(n) {
		b[c.last-c.off] ^= 0xff
	}
	c.off += int64(n)
	return n, err
}

// redirectTarget is the server Redirect faults send clients to: on 127.0.0.2, serving every
// request from the registry with the registry's own credentials (as a storage back end
// trusts signed URLs, not the client's registry credentials).
type redirectTarget struct {
	url string
	srv *http.Server
	mu  sync.Mutex // guards log
	log []Request
}

func startRedirectTarget(r *Registry, target *url.URL) (*redirectTarget, error) {
	t := &redirectTarget{}
	rp := r.reverseProxy(target, func(pr *httputil.ProxyRequest) {
		pr.Out.Header.Del("Authorization")
		if r.Username != "" {
			pr.Out.SetBasicAuth(r.Username, r.Password)
		}
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		t.mu.Lock()
		t.log = append(t.log, requestOf(req))
		t.mu.Unlock()
		rp.ServeHTTP(w, req)
	})
	srv, host, err := serve(context.Background(), "127.0.0.2:0", r.certs, h)
	if err != nil {
		return nil, err
	}
	t.srv, t.url = srv, strings.TrimSuffix(r.Scheme()+"://"+host, "/")
	return t, nil
}

func (t *redirectTarget) requests() []Request {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Request(nil), t.log...)
}

func (t *redirectTarget) close() error { return t.srv.Close() }
