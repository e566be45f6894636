package image

import (
	"context"
	"encoding/json"
	"time"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pkg/errors"
	"go.podman.io/image/v5/manifest"
)

// ImageData is what Inspect reports, with podman's field names and JSON shape.
type ImageData struct {
	ID           string                        `json:"Id"`
	Digest       digest.Digest                 `json:"Digest"`
	RepoTags     []string                      `json:"RepoTags"`
	RepoDigests  []string                      `json:"RepoDigests"`
	Parent       string                        `json:"Parent"`
	Comment      string                        `json:"Comment"`
	Created      *time.Time                    `json:"Created"`
	Config       *imgspecv1.ImageConfig        `json:"Config"`
	Version      string                        `json:"Version"`
	Author       string                        `json:"Author"`
	Architecture string                        `json:"Architecture"`
	Os           string                        `json:"Os"`
	Size         int64                         `json:"Size"`
	VirtualSize  int64                         `json:"VirtualSize"`
	GraphDriver  *DriverData                   `json:"GraphDriver"`
	RootFS       *RootFS                       `json:"RootFS"`
	Labels       map[string]string             `json:"Labels"`
	Annotations  map[string]string             `json:"Annotations"`
	ManifestType string                        `json:"ManifestType"`
	User         string                        `json:"User"`
	History      []imgspecv1.History           `json:"History"`
	NamesHistory []string                      `json:"NamesHistory"`
	HealthCheck  *manifest.Schema2HealthConfig `json:"Healthcheck,omitempty"`
}

// DriverData names the storage driver and what it reports for the image's top layer.
type DriverData struct {
	Name string            `json:"Name"`
	Data map[string]string `json:"Data"`
}

// RootFS lists the image's layers by diff ID (uncompressed digest), bottom first.
type RootFS struct {
	Type   string          `json:"Type"`
	Layers []digest.Digest `json:"Layers"`
}

// InspectOptions tune Inspect. Nil means defaults; there are none to set yet.
type InspectOptions struct{}

// Inspect returns the image's data with the values podman reports for the same store: the
// config's fields, the names, the sizes, the parent (by the rule of Parent), the manifest's
// type and annotations. For a Docker manifest Comment is the config's comment; for an OCI
// manifest it is the first history entry's comment, as podman does.
func (i *Image) Inspect(ctx context.Context, opts *InspectOptions) (*ImageData, error) {
	cfg, err := i.imageConfig(ctx)
	if err != nil {
		return nil, err
	}
	data, err := i.inspectNames()
	if err != nil {
		return nil, err
	}
	if err := i.inspectStore(ctx, data); err != nil {
		return nil, err
	}
	docker, err := i.dockerExtras(cfg)
	if err != nil {
		return nil, err
	}
	oci := &cfg.oci
	data.Created = oci.Created
	data.Config = &oci.Config
	data.Version = docker.DockerVersion
	data.Author = oci.Author
	data.Architecture = oci.Architecture
	data.Os = oci.OS
	data.RootFS = &RootFS{Type: oci.RootFS.Type, Layers: oci.RootFS.DiffIDs}
	data.Labels = oci.Config.Labels
	data.User = oci.Config.User
	data.History = oci.History
	if err := i.inspectManifest(ctx, cfg, data); err != nil {
		return nil, err
	}
	return data, nil
}

// inspectNames fills the fields that come from the store's record of the image.
func (i *Image) inspectNames() (*ImageData, error) {
	repoDigests, err := i.RepoDigests()
	if err != nil {
		return nil, err
	}
	data := &ImageData{
		ID:           i.ID(),
		Digest:       i.Digest(),
		RepoTags:     append([]string{}, i.RepoTags()...),
		RepoDigests:  repoDigests,
		NamesHistory: append([]string{}, i.NamesHistory()...),
	}
	return data, nil
}

// inspectStore fills size, graph driver and parent, which need the store.
func (i *Image) inspectStore(ctx context.Context, data *ImageData) error {
	size, err := i.Size()
	if err != nil {
		return err
	}
	data.Size, data.VirtualSize = size, size
	driver, err := i.runtime.store.GraphDriver()
	if err != nil {
		return errors.Wrapf(err, "inspecting image %s", i.ID())
	}
	data.GraphDriver = &DriverData{Name: driver.String()}
	if top := i.TopLayer(); top != "" {
		meta, err := driver.Metadata(top)
		if err != nil {
			return errors.Wrapf(err, "reading driver data of image %s", i.ID())
		}
		data.GraphDriver.Data = meta
	}
	parent, err := i.Parent(ctx)
	if err != nil {
		return err
	}
	if parent != nil {
		data.Parent = parent.ID()
	}
	return nil
}

// inspectManifest fills the fields that depend on the manifest's type.
func (i *Image) inspectManifest(ctx context.Context, cfg *imageConfig, data *ImageData) error {
	raw, mimeType, err := i.Manifest(ctx)
	if err != nil {
		return err
	}
	data.ManifestType = mimeType
	switch mimeType {
	case imgspecv1.MediaTypeImageManifest:
		var m imgspecv1.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			return errors.Wrapf(err, "decoding manifest of image %s", i.ID())
		}
		data.Annotations = m.Annotations
		if len(cfg.oci.History) > 0 {
			data.Comment = cfg.oci.History[0].Comment
		}
	case manifest.DockerV2Schema2MediaType:
		docker, err := i.dockerExtras(cfg)
		if err != nil {
			return err
		}
		data.Comment = docker.Comment
		data.HealthCheck = docker.ContainerConfig.Healthcheck
		if data.HealthCheck == nil && docker.Config != nil {
			data.HealthCheck = docker.Config.Healthcheck
		}
	}
	if data.Annotations == nil {
		data.Annotations = map[string]string{}
	}
	return nil
}
