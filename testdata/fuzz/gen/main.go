// Command gen writes the seed corpora of the fuzz targets (testdata/fuzz/<target>/, in go
// test's corpus format) from the real fixtures of testdata/ and small hand-made variants.
// Run it from the repository root: go run ./testdata/fuzz/gen
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	tinyID       = "b61b7acfe780890d8ed55c38e29a29beb8c645b6081b828b8bbe7d94960cfad8"
	tinyLayer    = "4029aaa3da8b5d518f6d29e2ea03dfca90505089d9d9eb7211263efbb23380fc"
	tinyManifest = "4a38a9d7159688f3c12b5ef95f5415a421235b95cb67866e31fe80c707012e90"
	ociManifest  = "application/vnd.oci.image.manifest.v1+json"
	ociIndex     = "application/vnd.oci.image.index.v1+json"
	docker2      = "application/vnd.docker.distribution.manifest.v2+json"
	hex64        = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	dockerTar, err := os.ReadFile("testdata/tiny.docker.tar")
	if err != nil {
		return err
	}
	ociTar, err := os.ReadFile("testdata/tiny.oci.tar")
	if err != nil {
		return err
	}
	manifestJSON, err := entry(dockerTar, "manifest.json")
	if err != nil {
		return err
	}
	index, err := os.ReadFile("testdata/tiny.oci/index.json")
	if err != nil {
		return err
	}
	manifest, err := os.ReadFile("testdata/tiny.oci/blobs/sha256/" + tinyManifest)
	if err != nil {
		return err
	}
	seeds := map[string]map[string][]any{
		"FuzzLoadArchive": {
			"tiny-docker-archive": {smallLayer(dockerTar)},
			"tiny-oci-archive":    {ociTar},
			"tiny-oci-archive-gz": {gzipped(ociTar)},
			"not-an-archive":      {[]byte("this is not an image archive\n")},
			"empty":               {[]byte{}},
		},
		"FuzzLoadDockerManifest": {
			"recorded":       {manifestJSON},
			"unnamed":        {[]byte(`[{"Config":"` + tinyID + `.json","RepoTags":null,"Layers":["` + tinyLayer + `.tar"]}]`)},
			"through-link":   {[]byte(`[{"Config":"` + tinyID + `.json","RepoTags":["a:1","b:2"],"Layers":["9c18dabb1eebd715b589ca562a20dc737f8b9f7cb190241c25375d84f9c542e1/layer.tar"]}]`)},
			"two-images":     {[]byte(`[{"Config":"` + tinyID + `.json","RepoTags":["a:1"],"Layers":["` + tinyLayer + `.tar"]},{"Config":"` + tinyID + `.json","RepoTags":["b:1"],"Layers":["` + tinyLayer + `.tar"]}]`)},
			"dot-dot":        {[]byte(`[{"Config":"../` + tinyID + `.json","RepoTags":[],"Layers":["/etc/passwd"]}]`)},
			"foreign-urls":   {[]byte(`[{"Config":"` + tinyID + `.json","Layers":["` + tinyLayer + `.tar"],"LayerSources":{"sha256:` + tinyLayer + `":{"urls":["http://127.0.0.1/x"]}}}]`)},
			"invalid-name":   {[]byte(`[{"Config":"` + tinyID + `.json","RepoTags":["Bad:1"],"Layers":["` + tinyLayer + `.tar"]}]`)},
			"digested-name":  {[]byte(`[{"Config":"` + tinyID + `.json","RepoTags":["a@sha256:` + hex64 + `"],"Layers":["` + tinyLayer + `.tar"]}]`)},
			"missing-layer":  {[]byte(`[{"Config":"` + tinyID + `.json","Layers":["missing.tar"]}]`)},
			"config-is-tar":  {[]byte(`[{"Config":"` + tinyLayer + `.tar","Layers":[]}]`)},
			"not-a-list":     {[]byte(`{"Config":1}`)},
			"case-of-fields": {[]byte(`[{"config":"` + tinyID + `.json","repotags":["x:1"],"layers":["` + tinyLayer + `.tar"]}]`)},
		},
		"FuzzLoadOCIIndex": {
			"recorded":         {index},
			"containerd-name":  {[]byte(strings.Replace(string(index), `"annotations":{`, `"annotations":{"io.containerd.image.name":"quay.io/x/tiny:2",`, 1))},
			"bare-tag":         {[]byte(strings.Replace(string(index), "localhost/tiny:latest", "latest", 1))},
			"twice":            {[]byte(`{"schemaVersion":2,"manifests":[` + desc(ociManifest, tinyManifest, 500, "a:1") + `,` + desc(ociManifest, tinyManifest, 500, "b:1") + `]}`)},
			"foreign-urls":     {[]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"` + ociManifest + `","digest":"sha256:` + tinyManifest + `","size":500,"urls":["http://127.0.0.1/m"]}]}`)},
			"nested-index":     {[]byte(`{"schemaVersion":2,"manifests":[` + desc(ociIndex, tinyManifest, 500, "") + `]}`)},
			"bad-digest":       {[]byte(`{"schemaVersion":2,"manifests":[` + desc(ociManifest, "../../index.json", 500, "") + `]}`)},
			"wrong-digest":     {[]byte(`{"schemaVersion":2,"manifests":[` + desc(ociManifest, tinyID, 402, "") + `]}`)},
			"no-manifests":     {[]byte(`{"schemaVersion":2,"manifests":[]}`)},
			"invalid-name":     {[]byte(strings.Replace(string(index), `"annotations":{`, `"annotations":{"io.containerd.image.name":"sha256:`+hex64[:63]+`",`, 1))},
			"not-json":         {[]byte("{")},
			"schema-version-1": {[]byte(`{"schemaVersion":1}`)},
		},
		"FuzzLoadOCIManifest": {
			"recorded":            {ociManifest, manifest},
			"recorded-no-type":    {"", manifest},
			"as-docker-schema2":   {docker2, manifest},
			"as-index":            {ociIndex, manifest},
			"config-url":          {ociManifest, []byte(strings.Replace(string(manifest), `"size":402}`, `"size":402,"urls":["http://127.0.0.1/c"]}`, 1))},
			"missing-layer":       {ociManifest, []byte(strings.Replace(string(manifest), "7643931be6a3df9ba2e37d23af18952df87110546ccff554718c9074207e0d1f", hex64, 1))},
			"layer-is-index-json": {ociManifest, []byte(strings.Replace(string(manifest), "sha256:7643931be6a3df9ba2e37d23af18952df87110546ccff554718c9074207e0d1f", "sha256:../../index.json", 1))},
			"schema1":             {"application/vnd.docker.distribution.manifest.v1+json", []byte(`{"schemaVersion":1,"name":"x","tag":"1","fsLayers":[],"history":[]}`)},
			"not-json":            {ociManifest, []byte("[")},
		},
		"FuzzLookupImage": {
			"short-name":       {"tiny"},
			"id-prefix":        {tinyID[:4]},
			"full-id":          {"sha256:" + tinyID},
			"storage-by-id":    {"containers-storage:tiny@" + tinyID},
			"digested":         {"quay.io/ns/tiny@sha256:" + hex64},
			"suffix":           {"ns/tiny:1"},
			"other-transport":  {"oci-archive:/nonexistent.tar"},
			"sha256-63-digits": {"sha256:" + hex64[:63]},
		},
		"FuzzListFilters": {
			"reference-glob": {"reference=*tiny*"},
			"label-value":    {"label=org.example.kind=tiny"},
			"until-duration": {"until=-1h"},
			"before-id":      {"before=" + tinyID[:6]},
			"digest-prefix":  {"digest=sha256:0"},
			"bad-glob":       {"reference=a[b"},
		},
		"FuzzNormalizeName": {
			"qualified-tag-digest": {"quay.io/a/b:v2@sha256:" + hex64},
			"port":                 {"localhost:5000/x"},
			"escape":               {"busybox\x1b[31m"},
			"hex-63":               {hex64[:63]},
		},
		"FuzzParseChanges": {
			"cmd-json":       {`CMD ["/bin/sh","-c","echo hi"]`},
			"env-quotes":     {`ENV A="b c" D='e f' G=h\ i`},
			"label-legacy":   {`LABEL key some value`},
			"expose-range":   {"EXPOSE 8000-8002/udp 80"},
			"workdir-rel":    {"WORKDIR a/../b"},
			"onbuild":        {"ONBUILD RUN echo hi"},
			"volume-json":    {`VOLUME ["/a", "/b"]`},
			"stopsignal-rt":  {"STOPSIGNAL SIGRTMIN+3"},
			"equals-form":    {"USER=nobody"},
			"unterminated":   {`ENV A="b`},
			"unknown":        {"FROM busybox"},
			"expose-too-big": {"EXPOSE 65536"},
		},
	}
	for target, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for name, args := range files {
			if err := os.WriteFile(filepath.Join(dir, name), corpusFile(args), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// corpusFile encodes one input in go test's corpus format ("go test fuzz v1", then one Go
// literal per argument).
func corpusFile(args []any) []byte {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
		case string:
			fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
		}
	}
	return []byte(b.String())
}

// desc is an index entry for the blob hex, with a ref.name annotation when name is not "".
func desc(mediaType, hex string, size int, name string) string {
	ann := ""
	if name != "" {
		ann = `,"annotations":{"org.opencontainers.image.ref.name":"` + name + `"}`
	}
	return fmt.Sprintf(`{"mediaType":%q,"digest":"sha256:%s","size":%d%s}`, mediaType, hex, size, ann)
}

// entry returns the content of the file name in the tar archive.
func entry(archive []byte, name string) ([]byte, error) {
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if hdr.Name == name {
			return io.ReadAll(tr)
		}
	}
}

// smallLayer returns the docker-archive with its layer replaced by a tar of one small file
// (the layer's name and the config's diff ID no longer match it: detection and the readers
// do not check that), so the fuzzer mutates 7 KB rather than 28 KB.
func smallLayer(archive []byte) []byte {
	var layer bytes.Buffer
	lw := tar.NewWriter(&layer)
	_ = lw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg})
	_, _ = lw.Write([]byte("hi\n"))
	_ = lw.Close()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		body, _ := io.ReadAll(tr)
		if hdr.Name == tinyLayer+".tar" {
			body = layer.Bytes()
			hdr.Size = int64(len(body))
		}
		_ = tw.WriteHeader(hdr)
		_, _ = tw.Write(body)
	}
	_ = tw.Close()
	return out.Bytes()
}

func gzipped(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write(data)
	_ = w.Close()
	return b.Bytes()
}
