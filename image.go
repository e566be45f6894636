package image

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/storage"
)

// Image is one image of the store. Its names, digests and top layer are a snapshot taken when
// the Image was returned (or last changed through it); Reload takes a new one. The config and
// manifest are read on first use and kept: they cannot change for a given image ID.
// An Image is safe for concurrent use.
type Image struct {
	runtime *Runtime

	mu sync.Mutex // guards snap and the cached fields below
	// snap is the store's record as last read.
	snap *storage.Image
	// graph is the snapshot of the whole store the Image was listed from, if any; Reload
	// drops it.
	graph *graph
	// config is the decoded config, nil until first read.
	config *imageConfig
	// manifest and manifestType are the raw manifest, nil until first read.
	manifest     []byte
	manifestType string
}

// imageConfig is an image config decoded as OCI and, for the few fields only Docker's format
// has, as dockerExtras, decoded on first use (Inspect) from a second read of the config:
// questions about the whole store (parents, children, history) read many configs and need
// only the OCI form, and the cache keeps no raw bytes.
type imageConfig struct {
	oci imgspecv1.Image

	keysOnce       sync.Once
	key, parentKey string // historyKey of the history, and of all but its last entry

	dockerOnce sync.Once
	docker     dockerExtras
	dockerErr  error
}

// historyKeys returns the historyKey of the config's history and of the history without its
// last entry (the key the image's parent has), computing them once, in one pass.
func (c *imageConfig) historyKeys() (key, parentKey string) {
	c.keysOnce.Do(func() {
		for _, e := range c.oci.History {
			c.parentKey = c.key
			c.key = historyKeyStep(c.key, e)
		}
	})
	return c.key, c.parentKey
}

// extras returns the Docker-only fields of the config that read returns, decoding them once.
func (c *imageConfig) extras(read func() ([]byte, error)) (*dockerExtras, error) {
	c.dockerOnce.Do(func() {
		raw, err := read()
		if err == nil {
			err = json.Unmarshal(raw, &c.docker)
		}
		c.dockerErr = err
	})
	return &c.docker, c.dockerErr
}

// dockerExtras are the fields of a Docker config that the OCI form lacks and Inspect reports,
// with manifest.Schema2V1Image's JSON names.
type dockerExtras struct {
	Comment         string            `json:"comment,omitempty"`
	ContainerConfig dockerHealthOnly  `json:"container_config"`
	DockerVersion   string            `json:"docker_version,omitempty"`
	Config          *dockerHealthOnly `json:"config,omitempty"`
}

// dockerHealthOnly is the Healthcheck of a manifest.Schema2Config.
type dockerHealthOnly struct {
	Healthcheck *manifest.Schema2HealthConfig `json:",omitempty"`
}

func (r *Runtime) newImage(s *storage.Image) *Image {
	return &Image{runtime: r, snap: s}
}

func (i *Image) snapshot() *storage.Image {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.snap
}

// Reload re-reads the image's record (names, digests) from the store. It returns an error
// wrapping ErrImageUnknown if the image has been removed meanwhile.
func (i *Image) Reload() error {
	s, err := i.runtime.store.Image(i.ID())
	if err != nil {
		return errors.Wrapf(err, "reloading image %s", i.ID())
	}
	i.mu.Lock()
	i.snap, i.graph = s, nil
	i.mu.Unlock()
	return nil
}

// ID returns the image's full ID (64 hex digits, the digest of its config).
func (i *Image) ID() string { return i.snapshot().ID }

// Names returns the image's names as the store records them (tagged or digested references),
// in the store's order. The slice is a copy.
func (i *Image) Names() []string { return append([]string(nil), i.snapshot().Names...) }

// NamesHistory returns every name the image has had, in c/storage's order: each change of
// names puts the image's current names first (in their order), then the older ones.
func (i *Image) NamesHistory() []string {
	return append([]string(nil), i.snapshot().NamesHistory...)
}

// Digest returns the digest of the image's manifest as stored.
func (i *Image) Digest() digest.Digest { return i.snapshot().Digest }

// Digests returns every manifest digest recorded for the image.
func (i *Image) Digests() []digest.Digest {
	return append([]digest.Digest(nil), i.snapshot().Digests...)
}

// Created returns the image's creation time as the store records it (taken from the config
// when the image was written).
func (i *Image) Created() time.Time { return i.snapshot().Created }

// TopLayer returns the ID of the image's top layer, or "" for an image without layers.
func (i *Image) TopLayer() string { return i.snapshot().TopLayer }

// IsReadOnly reports whether the image lives in a read-only additional image store, and so
// cannot be tagged, untagged or removed.
func (i *Image) IsReadOnly() bool { return i.snapshot().ReadOnly }

// RepoTags returns the image's tagged names (not the digested ones), in the store's order.
// Names that do not parse are skipped.
func (i *Image) RepoTags() []string {
	var tags []string
	for _, name := range i.snapshot().Names {
		ref, err := reference.ParseNormalizedNamed(name)
		if err != nil {
			continue
		}
		if _, ok := ref.(reference.NamedTagged); ok {
			tags = append(tags, name)
		}
	}
	return tags
}

// RepoDigests returns, for each repository the image has a name in, "repo@digest" for each
// digest recorded for the image, de-duplicated and sorted. It fails only on a stored name that
// does not parse.
func (i *Image) RepoDigests() ([]string, error) {
	s := i.snapshot()
	seen := map[string]bool{}
	for _, name := range s.Names {
		ref, err := reference.ParseNormalizedNamed(name)
		if err != nil {
			return nil, errors.Wrapf(err, "parsing name %q of image %s", name, s.ID)
		}
		for _, d := range s.Digests {
			seen[ref.Name()+"@"+d.String()] = true
		}
	}
	out := make([]string, 0, len(seen))
	for rd := range seen {
		out = append(out, rd)
	}
	sort.Strings(out)
	return out, nil
}

// Size returns the bytes the image takes in the store: its layers (uncompressed) plus its
// stored metadata (config, manifest, signatures), as podman reports it. An Image from
// ListImages answers from that call's snapshot of the store (what c/storage's ImageSize
// would say, without asking the store once per image); any other Image asks the store.
func (i *Image) Size() (int64, error) {
	i.mu.Lock()
	g, snap := i.graph, i.snap
	i.mu.Unlock()
	if g != nil {
		if size, ok := g.imageSize(snap); ok {
			return size, nil
		}
	}
	size, err := i.runtime.store.ImageSize(i.ID())
	if err != nil {
		return 0, errors.Wrapf(err, "computing size of image %s", i.ID())
	}
	return size, nil
}

// Containers returns the IDs of the containers that use the image.
func (i *Image) Containers() ([]string, error) {
	containers, err := i.runtime.store.Containers()
	if err != nil {
		return nil, errors.Wrapf(err, "listing containers of image %s", i.ID())
	}
	var ids []string
	for _, c := range containers {
		if c.ImageID == i.ID() {
			ids = append(ids, c.ID)
		}
	}
	return ids, nil
}

// Labels returns the labels of the image's config (nil when it has none). A manifest list
// has none (nil, as podman gives), so listing with label filters passes over it.
func (i *Image) Labels(ctx context.Context) (map[string]string, error) {
	cfg, err := i.Config(ctx)
	if errors.Is(err, ErrManifestList) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return cfg.Config.Labels, nil
}

// Config returns the image's config in the OCI form (a Docker config is read with the fields
// both formats share, as c/image converts it). The value is shared: do not modify it.
func (i *Image) Config(ctx context.Context) (*imgspecv1.Image, error) {
	cfg, err := i.imageConfig(ctx)
	if err != nil {
		return nil, err
	}
	return &cfg.oci, nil
}

func (i *Image) imageConfig(ctx context.Context) (*imageConfig, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.config != nil {
		return i.config, nil
	}
	if cfg := i.runtime.configs.get(i.snap.ID); cfg != nil {
		i.config = cfg
		return cfg, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	i.runtime.counts.configReads.Add(1)
	raw, err := i.rawConfig(i.snap)
	if err != nil {
		return nil, err
	}
	cfg := &imageConfig{}
	if err := json.Unmarshal(raw, &cfg.oci); err != nil {
		return nil, errors.Wrapf(err, "decoding config of image %s", i.snap.ID)
	}
	i.config = cfg
	i.runtime.configs.put(i.snap.ID, cfg)
	return cfg, nil
}

// rawConfig reads the config of the image whose record is s from the store: c/image stores it
// under its digest, which is the image ID. It takes no lock (its callers may hold the Image's).
func (i *Image) rawConfig(s *storage.Image) ([]byte, error) {
	id := s.ID
	if !hasConfig(s) && isManifestList(i.runtime.store, s) {
		return nil, errors.Wrapf(ErrManifestList, "image %s has no config", id)
	}
	raw, err := i.runtime.store.ImageBigData(id, digest.NewDigestFromEncoded(digest.SHA256, id).String())
	if err != nil {
		return nil, errors.Wrapf(err, "reading config of image %s", id)
	}
	return raw, nil
}

// hasConfig reports whether the store holds a config for the image (under its ID's digest, as
// c/image stores it). A manifest list (podman manifest create) has none.
func (i *Image) hasConfig() bool { return hasConfig(i.snapshot()) }

// hasConfig reports whether the image record s names a config among its big-data items.
func hasConfig(s *storage.Image) bool {
	return slices.Contains(s.BigDataNames, digest.NewDigestFromEncoded(digest.SHA256, s.ID).String())
}

// IsManifestList reports whether the image is a manifest list (an image index), as podman
// manifest create and add make them: an entry of the store without layers or config whose
// manifest lists the images of several platforms. Such an entry is listed (as podman lists
// it) and can be tagged, untagged and removed; it has no parent or children, no labels and
// no layers in Tree; Config, History, Inspect, Save and Push refuse it with ErrManifestList.
// It reads the manifest once.
func (i *Image) IsManifestList() bool {
	if i.TopLayer() != "" {
		return false
	}
	_, mimeType, err := i.Manifest(context.Background())
	return err == nil && manifest.MIMETypeIsMultiImage(mimeType)
}

// isManifestList reports whether s, a record of store, is a manifest list: no layers, and a
// default manifest item that is a list.
func isManifestList(store storage.Store, s *storage.Image) bool {
	if s.TopLayer != "" || !slices.Contains(s.BigDataNames, storage.ImageDigestBigDataKey) {
		return false
	}
	raw, err := store.ImageBigData(s.ID, storage.ImageDigestBigDataKey)
	return err == nil && manifest.MIMETypeIsMultiImage(manifest.GuessMIMEType(raw))
}

// dockerExtras returns the Docker-only fields of the image's config.
func (i *Image) dockerExtras(cfg *imageConfig) (*dockerExtras, error) {
	snap := i.snapshot()
	id := snap.ID
	docker, err := cfg.extras(func() ([]byte, error) { return i.rawConfig(snap) })
	if err != nil {
		return nil, errors.Wrapf(err, "decoding config of image %s", id)
	}
	return docker, nil
}

// Manifest returns the image's manifest as stored and its MIME type: the store's default
// manifest item, which c/image's storage source (and so podman's inspect, save and push)
// reads, that is the manifest written last when the image came in more than once.
func (i *Image) Manifest(ctx context.Context) ([]byte, string, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.manifest != nil {
		return i.manifest, i.manifestType, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	raw, err := i.readManifest(i.snap)
	if err != nil {
		return nil, "", err
	}
	i.manifest, i.manifestType = raw, manifest.GuessMIMEType(raw)
	return i.manifest, i.manifestType, nil
}

// readManifest reads the store's default manifest item ("manifest"), the one c/image's
// storage source reads (and so podman's inspect, save and push): the manifest written last,
// when the image came in more than once (a docker-archive, then an OCI layout). It falls back
// to the manifest stored for the image's digest.
func (i *Image) readManifest(s *storage.Image) ([]byte, error) {
	raw, err := i.runtime.store.ImageBigData(s.ID, storage.ImageDigestBigDataKey)
	if err == nil {
		return raw, nil
	}
	if s.Digest != "" {
		key := storage.ImageDigestManifestBigDataNamePrefix + "-" + s.Digest.String()
		if raw, derr := i.runtime.store.ImageBigData(s.ID, key); derr == nil {
			return raw, nil
		}
	}
	return nil, errors.Wrapf(err, "reading manifest of image %s", s.ID)
}
