package image

import (
	"context"
	stderrors "errors"
	"strings"

	"github.com/pkg/errors"
	"go.podman.io/storage"
)

// Sentinel errors of RemoveImages.
var (
	// ErrMultipleNames: RemoveImages was asked, without Force, to remove by ID or by digest
	// an image that has more than one name. Remove the names one by one, or force.
	ErrMultipleNames = errors.New("image has more than one name")
	// ErrHasChildren: RemoveImages was asked to remove by ID (or digest) an image that other
	// images are built on. Force does not override it, as in Docker: the children would lose
	// their history.
	ErrHasChildren = errors.New("image has dependent child images")
	// ErrImageInUse: containers use the image and Force was not given. It is c/storage's own
	// sentinel, so its refusals compare equal.
	ErrImageInUse = storage.ErrImageUsedByContainer
)

// RemoveOptions tune RemoveImages. Nil means all defaults (false, nil).
type RemoveOptions struct {
	// Force removes an image by ID or digest even when it has several names, and removes the
	// containers that use an image first. It never overrides ErrHasChildren, nor turns the
	// untagging of one of several names into a removal.
	Force bool
	// NoPrune keeps the parents of a removed image even when they become dangling.
	NoPrune bool
	// All removes every image of the store, children before their parents, with all their
	// names; names given with it are ErrInvalidName. Images of read-only additional stores
	// are skipped; an image on which one that could not be removed is built is ErrHasChildren.
	All bool
	// RemoveContainer removes one of the caller's containers (with Force), given its ID. Nil
	// means c/storage's DeleteContainer; a container that is already gone is no error.
	RemoveContainer func(containerID string) error
}

// RemoveReport says what RemoveImages or Prune did to one image.
type RemoveReport struct {
	// ID is the image's full ID.
	ID string
	// Untagged are the names the image lost, in the order they went (a removed image loses
	// all the names it still had).
	Untagged []string
	// Removed reports that the image is gone from the store.
	Removed bool
	// Size is the bytes freed: the uncompressed sizes of the layers removed with the image
	// (those no remaining image or container used), each layer in one report only.
	Size int64
}

// RemoveImages removes images, or some of their names, and returns one report per image it
// changed, in the order it first changed them; the reports are returned with the error too,
// and are nil (with a nil error) when names is empty and All is not set.
//
// Each name is looked up (LookupImage) in turn against the store as the previous names left
// it, so two names of one image remove the image. Given one of its names, an image with
// several names loses that name only (even with Force); given its last name, an image with
// children loses that name and stays as an intermediate image (as Docker does), otherwise it
// is removed. Given its ID or a digest: an image with several names is ErrMultipleNames
// unless Force; an image with children is ErrHasChildren, with or without Force. An image
// containers use is ErrImageInUse unless Force, which removes those containers first (through
// opts.RemoveContainer when set); that holds for the untagging of its last name too, as
// podman and Docker refuse it. Images of read-only additional stores are ErrReadOnly.
// After removing an image, its parent is removed too when that left it dangling (no names,
// no children, no containers), and so on up the chain, unless NoPrune.
//
// A name that can name no image whatever the store holds (it does not parse as LookupImage
// reads names: ErrInvalidName, ErrUnsupportedTransport) refuses the whole call before
// anything is changed. An image (or layer) that another process removed meanwhile counts
// as removed. Any other failure does not stop the others: every error is joined (each
// quotes its name). Events: untag per
// name removed, then remove per image removed, each written after the change succeeded.
// The call lists the store's images and layers once, and only when it removes an image.
func (r *Runtime) RemoveImages(ctx context.Context, names []string, opts *RemoveOptions) ([]*RemoveReport, error) {
	var o RemoveOptions
	if opts != nil {
		o = *opts
	}
	if o.All && len(names) > 0 {
		return nil, errors.Wrapf(ErrInvalidName, "removing %q: All removes every image and takes no names", names[0])
	}
	if len(names) == 0 && !o.All {
		return nil, nil
	}
	for _, name := range names {
		if _, err := r.parseLookup(name); err != nil {
			return nil, errors.Wrapf(err, "removing %q", names)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rm := r.newRemover(ctx, o, EventRemove)
	var errs []error
	if o.All {
		errs = rm.removeAll()
	} else {
		for _, name := range names {
			if err := ctx.Err(); err != nil {
				errs = append(errs, err)
				break
			}
			if err := rm.removeArg(name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return rm.reports, stderrors.Join(errs...)
}

// remover is the state of one RemoveImages or Prune call.
type remover struct {
	r     *Runtime
	ctx   context.Context
	opts  RemoveOptions
	event EventType // written per image removed: EventRemove or EventPrune
	g     *graph    // the call's one snapshot, taken on first need
	// containers maps an image ID to the IDs of its containers; listed on first need.
	containers map[string][]string
	gone       map[string]bool // the images this call removed or found removed
	reports    []*RemoveReport // in order; byID indexes them
	byID       map[string]*RemoveReport
}

func (r *Runtime) newRemover(ctx context.Context, opts RemoveOptions, event EventType) *remover {
	return &remover{r: r, ctx: ctx, opts: opts, event: event, gone: map[string]bool{}, byID: map[string]*RemoveReport{}}
}

// graph returns the call's snapshot, building it on first use.
func (rm *remover) graph() (*graph, error) {
	if rm.g == nil {
		g, err := rm.r.newGraph()
		if err != nil {
			return nil, err
		}
		rm.g = g
	}
	return rm.g, nil
}

// containersOf returns the IDs of the containers that use the image, from one listing of the
// store's containers per call.
func (rm *remover) containersOf(id string) ([]string, error) {
	if rm.containers == nil {
		list, err := rm.r.store.Containers()
		if err != nil {
			return nil, errors.Wrap(err, "listing containers")
		}
		rm.containers = make(map[string][]string, len(list))
		for k := range list {
			rm.containers[list[k].ImageID] = append(rm.containers[list[k].ImageID], list[k].ID)
		}
	}
	return rm.containers[id], nil
}

// report returns the image's report, adding it to the call's list on first use.
func (rm *remover) report(id string) *RemoveReport {
	if rep, ok := rm.byID[id]; ok {
		return rep
	}
	rep := &RemoveReport{ID: id}
	rm.byID[id] = rep
	rm.reports = append(rm.reports, rep)
	return rep
}

// removeArg handles one name given to RemoveImages.
func (rm *remover) removeArg(name string) error {
	img, resolved, err := rm.r.LookupImage(name, nil)
	if err != nil {
		if errors.Is(err, ErrImageUnknown) && rm.removedEarlier(name) {
			return nil
		}
		return err
	}
	if img.IsReadOnly() {
		return errors.Wrapf(ErrReadOnly, "removing %q: image %s is in a read-only image store", name, img.ID())
	}
	if hasName(img.snapshot(), resolved) {
		err = rm.removeByName(img, name, resolved)
	} else {
		err = rm.removeByID(img, name)
	}
	if err != nil && errors.Is(err, ErrImageUnknown) && rm.vanished(img.ID()) {
		rm.markVanished(img.ID())
		return nil
	}
	return err
}

// removedEarlier reports whether name is an ID (prefix) or a name of an image this call
// removed already (the parent walk can remove an image a later argument names).
func (rm *remover) removedEarlier(name string) bool {
	id := strings.TrimPrefix(name, "sha256:")
	full := ""
	if named, err := NormalizeName(name); err == nil {
		full = named.String()
	}
	for _, rep := range rm.reports {
		if !rep.Removed {
			continue
		}
		if isHex(id) && strings.HasPrefix(rep.ID, id) {
			return true
		}
		for _, n := range rep.Untagged {
			if n == full {
				return true
			}
		}
	}
	return false
}

// removeByName handles an image given by one of its names (full, as stored).
func (rm *remover) removeByName(img *Image, arg, full string) error {
	if len(img.Names()) > 1 {
		return rm.untag(img, arg, full)
	}
	kids, err := rm.hasChildren(img)
	if err != nil {
		return errors.Wrapf(err, "removing %q", arg)
	}
	if kids {
		// Untagging the last name needs the image free of containers (or Force), as removing
		// it does: podman and Docker refuse it too.
		if err := rm.clearContainers(img, arg); err != nil {
			return err
		}
		return rm.untag(img, arg, full)
	}
	return rm.removeRequested(img, arg, full)
}

// removeByID handles an image given by its ID, an ID prefix or a digest.
func (rm *remover) removeByID(img *Image, arg string) error {
	if names := img.Names(); len(names) > 1 && !rm.opts.Force {
		return errors.Wrapf(ErrMultipleNames, "removing %q: image %s has %d names (%s): remove them by name, or force",
			arg, img.ID(), len(names), strings.Join(names, ", "))
	}
	kids, err := rm.hasChildren(img)
	if err != nil {
		return errors.Wrapf(err, "removing %q", arg)
	}
	if kids {
		return errors.Wrapf(ErrHasChildren, "removing %q: other images are built on image %s", arg, img.ID())
	}
	return rm.removeRequested(img, arg, "")
}

// untag removes the stored name full (given as arg) from the image.
func (rm *remover) untag(img *Image, arg, full string) error {
	id := img.ID()
	if err := rm.r.store.RemoveNames(id, []string{full}); err != nil {
		return errors.Wrapf(namesError(err), "removing %q: untagging image %s", arg, id)
	}
	rep := rm.report(id)
	rep.Untagged = append(rep.Untagged, full)
	rm.r.emit(EventUntag, id, full, nil)
	return nil
}

// vanished reports whether the image is no longer in the store.
func (rm *remover) vanished(id string) bool {
	_, err := rm.r.store.Image(id)
	return errors.Is(err, storage.ErrImageUnknown)
}

// markVanished notes an image another process removed: RemoveImages reports it removed
// (freeing nothing), Prune does not report it.
func (rm *remover) markVanished(id string) {
	rm.gone[id] = true
	if rm.event == EventRemove {
		rm.report(id).Removed = true
	}
}

// hasChildren reports whether images other than those this call removed are built on img,
// according to the call's snapshot.
func (rm *remover) hasChildren(img *Image) (bool, error) {
	g, err := rm.graph()
	if err != nil {
		return false, err
	}
	kids, err := g.children(rm.ctx, g.image(img))
	if err != nil {
		return false, err
	}
	for _, k := range kids {
		if !rm.gone[k.ID()] {
			return true, nil
		}
	}
	return false, nil
}

// removeRequested removes an image the caller asked for (given as arg, by the stored name
// full or "" when by ID), its containers first when forced, then walks up its parents.
func (rm *remover) removeRequested(img *Image, arg, full string) error {
	g, err := rm.graph()
	if err != nil {
		return err
	}
	parent, err := g.parent(rm.ctx, g.image(img))
	if err != nil {
		return errors.Wrapf(err, "removing %q", arg)
	}
	if err := rm.clearContainers(img, arg); err != nil {
		return err
	}
	if err := rm.deleteImage(img.ID(), img.Names(), arg, full); err != nil {
		return err
	}
	if err := rm.walkUp(parent); err != nil {
		return errors.Wrapf(err, "removing %q: removing its dangling parents", arg)
	}
	return nil
}

// clearContainers removes img's containers with Force; without, they are ErrImageInUse.
func (rm *remover) clearContainers(img *Image, arg string) error {
	id := img.ID()
	ids, err := rm.containersOf(id)
	if err != nil || len(ids) == 0 {
		return err
	}
	if !rm.opts.Force {
		return errors.Wrapf(ErrImageInUse, "removing %q: image %s is used by %d container(s) (%s): remove them, or force",
			arg, id, len(ids), strings.Join(ids, ", "))
	}
	for _, c := range ids {
		if err := rm.removeContainer(c); err != nil {
			return errors.Wrapf(err, "removing %q: removing container %s of image %s", arg, c, id)
		}
	}
	delete(rm.containers, id)
	return nil
}

func (rm *remover) removeContainer(id string) error {
	if rm.opts.RemoveContainer != nil {
		return rm.opts.RemoveContainer(id)
	}
	err := rm.r.store.DeleteContainer(id)
	if errors.Is(err, storage.ErrNotAContainer) || errors.Is(err, storage.ErrContainerUnknown) {
		return nil
	}
	return err
}

// walkUp removes p, then its parent and so on, as long as each is left dangling: no names
// (read afresh), no children but those this call removed, no containers, not read-only.
func (rm *remover) walkUp(p *Image) error {
	for p != nil && !rm.opts.NoPrune {
		ok, err := rm.danglingNow(p)
		if err != nil || !ok {
			return err
		}
		next, err := rm.g.parent(rm.ctx, p)
		if err != nil {
			return err
		}
		if err := rm.deleteImage(p.ID(), nil, p.ID(), ""); err != nil {
			return err
		}
		p = next
	}
	return nil
}

// danglingNow reports whether the image can go with the child this call removed: it is still
// in the store, has no names now, no other children and no containers, and is writable.
func (rm *remover) danglingNow(img *Image) (bool, error) {
	id := img.ID()
	if rm.gone[id] || img.IsReadOnly() {
		return false, nil
	}
	s, err := rm.r.store.Image(id)
	if errors.Is(err, storage.ErrImageUnknown) || (err == nil && len(s.Names) > 0) {
		return false, nil
	}
	if err != nil {
		return false, errors.Wrapf(err, "reading image %s", id)
	}
	if ids, err := rm.containersOf(id); err != nil || len(ids) > 0 {
		return false, err
	}
	kids, err := rm.hasChildren(img)
	return !kids && err == nil, err
}

// deleteImage deletes the image id through c/storage (which removes the layers no other
// image or container uses), reports it with its names and the bytes freed, and writes the
// events. arg is the input quoted in errors; full the stored name it was removed by ("" for
// none), written in the removal event. An image already gone is marked so, and no error.
func (rm *remover) deleteImage(id string, names []string, arg, full string) error {
	layers, err := rm.r.store.DeleteImage(id, true)
	if err != nil {
		if vanished, err := rm.deleteError(id, arg, err); vanished || err != nil {
			if vanished {
				rm.markVanished(id)
			}
			return err
		}
	}
	rm.gone[id] = true
	rep := rm.report(id)
	rep.Removed = true
	rep.Untagged = append(rep.Untagged, names...)
	rep.Size += rm.layersSize(layers)
	for _, n := range names {
		rm.r.emit(EventUntag, id, n, nil)
	}
	rm.r.emit(rm.event, id, full, nil)
	return nil
}

// deleteError sorts out a failure of DeleteImage: an image already gone is vanished; a layer
// already gone is success once the image record went (c/storage deletes that first).
func (rm *remover) deleteError(id, arg string, err error) (bool, error) {
	switch {
	case errors.Is(err, storage.ErrNotAnImage), errors.Is(err, storage.ErrImageUnknown):
		return true, nil
	case errors.Is(err, storage.ErrLayerUnknown) && rm.vanished(id):
		return false, nil
	case errors.Is(err, storage.ErrImageUsedByContainer):
		return false, errors.Wrapf(err, "removing %q: image %s", arg, id)
	}
	return false, errors.Wrapf(err, "removing %q: deleting image %s", arg, id)
}

// layersSize sums the snapshot's sizes of the given layers (unknown sizes count 0).
func (rm *remover) layersSize(layers []string) int64 {
	var total int64
	for _, l := range layers {
		if size := rm.g.layerSize[l]; size > 0 {
			total += size
		}
	}
	return total
}

// removeAll removes every writable image, children before parents, as Prune with All
// would, but strictly: images in use are ErrImageInUse unless Force, and images left with
// children (that could not be removed) are ErrHasChildren.
func (rm *remover) removeAll() []error {
	p, err := rm.newPruner(nil, true)
	if err != nil {
		return []error{err}
	}
	p.strict = true
	errs := p.run()
	for _, img := range p.g.images {
		if id := img.ID(); !p.gone[id] && !img.IsReadOnly() && p.kids[id] > 0 {
			errs = append(errs, errors.Wrapf(ErrHasChildren, "removing image %s: images that could not be removed are built on it", id))
		}
	}
	return errs
}

// PruneOptions select what Prune removes. Nil means the dangling images.
type PruneOptions struct {
	// All prunes every image no container uses, not only the dangling ones.
	All bool
	// Filters keep only the images that pass all of them, with the keys and syntax of
	// ListOptions.Filters (SEMANTICS §7), e.g. "until=24h", "label=stage=build",
	// "label!=keep". A bad filter fails the call with ErrInvalidFilter before anything is
	// removed.
	Filters []string
}

// Prune removes the dangling images (no names, no children), or with All every image no
// container uses, that pass opts.Filters, and returns one report per image removed (in the
// order removed; nil, with a nil error, when nothing qualified). It repeats until nothing
// more qualifies, so a parent that its children's removal left dangling goes too, and a
// second call removes nothing. Images that containers use, images of read-only stores, and
// images that gained a name meanwhile (without All) are skipped, never an error; an image
// another process removed meanwhile is skipped too. The reports' sizes add up to the bytes
// freed, each layer counted once. Events, each after its removal succeeded: untag per name
// an image had (All only), then prune per image. Failures do not stop the others and are
// joined. The call lists the store's images, layers and containers once, and reads each
// image's config at most once.
func (r *Runtime) Prune(ctx context.Context, opts *PruneOptions) ([]*RemoveReport, error) {
	var o PruneOptions
	if opts != nil {
		o = *opts
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	filters, err := r.compileFilters(o.Filters)
	if err != nil {
		return nil, err
	}
	rm := r.newRemover(ctx, RemoveOptions{}, EventPrune)
	p, err := rm.newPruner(filters, o.All)
	if err != nil {
		return nil, err
	}
	return rm.reports, stderrors.Join(p.run()...)
}

// pruner is the state of one Prune call.
type pruner struct {
	*remover
	filters compiledFilters
	all     bool
	// strict is RemoveImages' All: containers are removed (Force) or an error, not a skip.
	strict bool
	// kids counts the children of each image that this call has not removed.
	kids map[string]int
	// parents maps an image ID to its parent in the snapshot (absent when it has none).
	parents map[string]*Image
}

// newPruner takes the snapshot and finds every image's parent once.
func (rm *remover) newPruner(filters compiledFilters, all bool) (*pruner, error) {
	g, err := rm.graph()
	if err != nil {
		return nil, err
	}
	p := &pruner{remover: rm, filters: filters, all: all,
		kids: make(map[string]int, len(g.images)), parents: make(map[string]*Image, len(g.images))}
	for _, img := range g.images {
		parent, err := g.parent(rm.ctx, img)
		if err != nil {
			return nil, err
		}
		if parent != nil {
			p.parents[img.ID()] = parent
			p.kids[parent.ID()]++
		}
	}
	return p, nil
}

// run removes what qualifies until nothing more does: each image is considered once, and a
// parent again when one of its children goes: O(images) in all.
func (p *pruner) run() []error {
	queue := append([]*Image(nil), p.g.images...)
	var errs []error
	for len(queue) > 0 {
		if err := p.ctx.Err(); err != nil {
			return append(errs, err)
		}
		img := queue[0]
		queue = queue[1:]
		removed, err := p.pruneOne(img)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if parent := p.parents[img.ID()]; removed && parent != nil {
			p.kids[parent.ID()]--
			queue = append(queue, parent)
		}
	}
	return errs
}

// pruneOne removes img if it qualifies, and reports whether it is gone.
func (p *pruner) pruneOne(img *Image) (bool, error) {
	names, ok, err := p.qualifies(img)
	if err != nil || !ok {
		return false, err
	}
	id := img.ID()
	err = p.deleteImage(id, names, id, "")
	if errors.Is(err, ErrImageInUse) && !p.strict { // a container created meanwhile
		return false, nil
	}
	return err == nil, err
}

// qualifies reports whether img is to be pruned now, with its current names.
func (p *pruner) qualifies(img *Image) ([]string, bool, error) {
	id := img.ID()
	if p.gone[id] || img.IsReadOnly() || p.kids[id] > 0 || (!p.all && len(img.Names()) > 0) {
		return nil, false, nil
	}
	pass, err := p.filters.matches(p.ctx, p.g, img)
	if err != nil || !pass {
		return nil, false, errors.Wrapf(err, "pruning image %s", id)
	}
	s, err := p.r.store.Image(id)
	if errors.Is(err, storage.ErrImageUnknown) || (err == nil && !p.all && len(s.Names) > 0) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, errors.Wrapf(err, "pruning image %s", id)
	}
	counts, err := p.g.containerCounts()
	if err != nil || (counts[id] > 0 && !p.strict) {
		return nil, false, err
	}
	if counts[id] > 0 {
		if err := p.clearContainers(img, id); err != nil {
			return nil, false, err
		}
	}
	return s.Names, true, nil
}
