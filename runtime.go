package image

import (
	"context"
	stderrors "errors"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/pkg/errors"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
)

// RuntimeOptions are the settings of a Runtime. They are copied by NewRuntime and cannot
// change afterwards. A nil *RuntimeOptions means all defaults.
type RuntimeOptions struct {
	// Eventer receives an event for every change. Nil means events are dropped.
	Eventer Eventer
	// SystemContext carries the paths of registries.conf, the signature policy, auth files and
	// certificates. Nil means c/image's defaults. The Runtime keeps its own copy.
	// BigFilesTemporaryDir (default "<graphroot>/image-tmp", so temp files stay on the
	// store's file system) is the base of the Runtime's own temp dir, "image-rt-<pid>-<random>"
	// inside it, which SystemContext returns: made on first use, locked while the Runtime
	// lives, removed by Shutdown, and reaped by the next Runtime made on the same base when its
	// process died without Shutdown. BlobInfoCacheDir defaults to "<graphroot>/cache".
	SystemContext *types.SystemContext
}

// Runtime manages the images of one containers/storage store. It is safe for concurrent use;
// it holds no state about the store between calls (other processes may change the store at
// any time), so every call sees the store as it is.
type Runtime struct {
	store     storage.Store
	ownsStore bool
	eventer   Eventer
	sys       types.SystemContext
	configs   configCache
	counts    counters
	// tmp holds the lock on the Runtime's own temp dir while it exists (tempfiles.go).
	tmp struct {
		sync.Mutex
		lock *os.File
	}
}

// NewRuntime returns a Runtime over a store the caller opened and keeps owning: Shutdown does
// not shut that store down.
func NewRuntime(store storage.Store, opts *RuntimeOptions) (*Runtime, error) {
	if store == nil {
		return nil, errors.New("creating runtime: nil store")
	}
	var o RuntimeOptions
	if opts != nil {
		o = *opts
	}
	r := &Runtime{store: store, eventer: o.Eventer}
	if r.eventer == nil {
		r.eventer = noopEventer{}
	}
	if o.SystemContext != nil {
		r.sys = *o.SystemContext
	}
	base := r.sys.BigFilesTemporaryDir
	if base == "" {
		base = filepath.Join(store.GraphRoot(), "image-tmp")
	}
	if len(reapStale(base, runtimeTempPrefix)) > 0 { // temp dirs of Runtimes whose process died
		removeInterrupted(store)
	}
	r.sys.BigFilesTemporaryDir = filepath.Join(base, runtimeTempName())
	if r.sys.BlobInfoCacheDir == "" {
		r.sys.BlobInfoCacheDir = filepath.Join(store.GraphRoot(), "cache")
	}
	return r, nil
}

// NewRuntimeFromStoreOptions opens the store that storeOpts describe and returns a Runtime
// that owns it until Shutdown. Empty options (the zero value) mean the defaults of the
// user's storage.conf, as podman uses them.
func NewRuntimeFromStoreOptions(storeOpts storage.StoreOptions, opts *RuntimeOptions) (*Runtime, error) {
	if storeOpts.GraphRoot == "" && storeOpts.RunRoot == "" && storeOpts.GraphDriverName == "" {
		defaults, err := storage.DefaultStoreOptions()
		if err != nil {
			return nil, errors.Wrap(err, "reading default storage options")
		}
		storeOpts = defaults
	}
	store, err := storage.GetStore(storeOpts)
	if err != nil {
		return nil, errors.Wrapf(err, "opening store at %q", storeOpts.GraphRoot)
	}
	r, err := NewRuntime(store, opts)
	if err != nil {
		_, _ = store.Shutdown(false)
		return nil, err
	}
	r.ownsStore = true
	return r, nil
}

// Store returns the store the Runtime works on.
func (r *Runtime) Store() storage.Store { return r.store }

// SystemContext returns a copy of the Runtime's c/image system context, with the defaults
// NewRuntime filled in.
func (r *Runtime) SystemContext() *types.SystemContext {
	sys := r.sys
	return &sys
}

// systemContext returns a fresh copy for one operation, so no call can change the Runtime's.
func (r *Runtime) systemContext() *types.SystemContext {
	return r.SystemContext()
}

// Shutdown removes the Runtime's temp dir, and releases the store if the Runtime opened it
// (NewRuntimeFromStoreOptions); a store passed to NewRuntime is left to its owner. With force, layers still mounted are unmounted.
func (r *Runtime) Shutdown(force bool) error {
	err := r.releaseTmpDir()
	if !r.ownsStore {
		return err
	}
	if _, serr := r.store.Shutdown(force); serr != nil {
		err = stderrors.Join(err, errors.Wrap(serr, "shutting down store"))
	}
	return err
}

// ListOptions select what ListImages returns. Nil means every image.
type ListOptions struct {
	// Filters keep the images that pass all of them: "key=value" or "key!=value", with the
	// keys of SEMANTICS §7 (see compileFilters: before, since, after, until, dangling,
	// intermediate, readonly, containers, label, reference, id, digest). They are parsed
	// once per call; a bad one fails the call with ErrInvalidFilter.
	Filters []string
}

// ListImages returns every image of the store (those of additional read-only stores too),
// that pass opts.Filters, from one listing of images and layers, newest first (by creation time in the store, ties
// by ID). Each Image is a snapshot taken by this call, and the images share it: their Parent
// answers from this snapshot (reading each config at most once) until Reload.
func (r *Runtime) ListImages(ctx context.Context, opts *ListOptions) ([]*Image, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	filters, err := r.compileFilters(o.Filters)
	if err != nil {
		return nil, err
	}
	g, err := r.newGraph()
	if err != nil {
		return nil, err
	}
	if needsChildren(o.Filters) {
		g.prefetchChildren(ctx)
	}
	images := make([]*Image, 0, len(g.images))
	for _, img := range g.images {
		ok, err := filters.matches(ctx, g, img)
		if err != nil {
			return nil, err
		}
		if ok {
			images = append(images, img)
		}
	}
	sort.SliceStable(images, func(a, b int) bool {
		ca, cb := images[a].Created(), images[b].Created()
		if !ca.Equal(cb) {
			return ca.After(cb)
		}
		return images[a].ID() < images[b].ID()
	})
	return images, nil
}
