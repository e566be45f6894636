package image

import (
	"context"
	stderrors "errors"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/pkg/errors"
	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// copyImage copies src into the store through c/image, with its progress lines to report
// when that is not nil. If the copy fails, the error names
// the blobs being copied then, and the layers the copy committed before failing are removed
// again, so the store is left as it was.
func (r *Runtime) copyImage(ctx context.Context, pc *signature.PolicyContext, dest, src types.ImageReference, report io.Writer) error {
	return r.copyIntoStore(ctx, pc, dest, src, storeCopy{source: r.systemContext(), report: report})
}

// storeCopy are the settings of one copy into the store.
type storeCopy struct {
	// source is the system context for reading src (a registry's credentials, the platform).
	source *types.SystemContext
	// report receives c/image's progress lines, if not nil.
	report io.Writer
	// progress receives every c/image progress event, if not nil.
	progress chan<- types.ProgressProperties
}

// copyIntoStore is copyImage with a source context of its own and the progress events
// passed on to c.progress.
func (r *Runtime) copyIntoStore(ctx context.Context, pc *signature.PolicyContext, dest, src types.ImageReference, c storeCopy) error {
	before, err := r.layerIDs()
	if err != nil {
		return err
	}
	_, err = runCopy(ctx, pc, dest, src, &copy.Options{SourceCtx: c.source, DestinationCtx: r.systemContext(),
		ReportWriter: c.report}, c.progress)
	if err != nil {
		if cerr := r.removeNewOrphans(before); cerr != nil {
			logrus.Debugf("cleaning up after failed copy: %v", cerr)
			return stderrors.Join(err, cerr)
		}
	}
	return err
}

// runCopy runs c/image's copy with opts, its progress events passed on to progress when
// that is not nil, and returns the manifest written. If the copy fails, the error names the
// blobs being copied then (c/image's errors do not always say which one failed).
func runCopy(ctx context.Context, pc *signature.PolicyContext, dest, src types.ImageReference, opts *copy.Options, progress chan<- types.ProgressProperties) ([]byte, error) {
	watch := watchBlobs(progress)
	o := *opts
	o.Progress, o.ProgressInterval = watch.events, time.Hour
	if progress != nil {
		o.ProgressInterval = progressInterval
	}
	manifest, err := copy.Image(ctx, pc, dest, src, &o)
	if open := watch.stop(); err != nil && len(open) > 0 {
		err = errors.Wrapf(err, "copying blob %s", strings.Join(open, ", "))
	}
	return manifest, err
}

// progressInterval is how often c/image reports the bytes read of a blob to a caller's
// progress channel.
const progressInterval = 200 * time.Millisecond

// blobWatch follows c/image's progress events to know which blobs a copy has started and
// not finished: c/image's errors do not always say which blob failed.
type blobWatch struct {
	events chan types.ProgressProperties
	// open is the digests started and not done, in start order; final once done is closed.
	open []string
	done chan struct{}
}

// watchBlobs starts a watch; every event is passed on to forward when that is not nil.
func watchBlobs(forward chan<- types.ProgressProperties) *blobWatch {
	w := &blobWatch{events: make(chan types.ProgressProperties), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for p := range w.events {
			d := p.Artifact.Digest.String()
			switch p.Event {
			case types.ProgressEventNewArtifact:
				w.open = append(w.open, d)
			case types.ProgressEventDone, types.ProgressEventSkipped:
				w.open = slices.DeleteFunc(w.open, func(o string) bool { return o == d })
			}
			if forward != nil {
				forward <- p
			}
		}
	}()
	return w
}

// stop ends the watch (after the copy returned) and returns the blobs left open.
func (w *blobWatch) stop() []string {
	close(w.events)
	<-w.done
	return w.open
}

// openedRef is a reference whose image source is already open: copy.Image gets that source
// instead of opening (and reading the whole tarball) again. The caller closes the source.
type openedRef struct {
	types.ImageReference
	src types.ImageSource
}

// NewImageSource returns the open source; closing what it returns does nothing.
func (r openedRef) NewImageSource(context.Context, *types.SystemContext) (types.ImageSource, error) {
	return unclosable{r.src}, nil
}

type unclosable struct{ types.ImageSource }

func (unclosable) Close() error { return nil }
