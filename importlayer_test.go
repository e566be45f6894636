package image

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestImportLayerWrittenOnce: the import writes its layer straight from the tarball, as the
// layer c/image would have made (ID = diff ID, the digest and size of the tarball's bytes as
// its compressed digest and size, the tar stream's digest), and the copy finds it there
// instead of spooling the tarball again (c/image logs "Skipping blob ... (already present)"), for
// every compression.
func TestImportLayerWrittenOnce(t *testing.T) {
	rootfs := busyboxRootfs(t)
	for _, algo := range []string{"none", "gzip", "zstd"} {
		t.Run(algo, func(t *testing.T) {
			rt, _ := newTestRuntime(t)
			path := rootfs
			if algo != "none" {
				path = compressFile(t, rootfs, algo)
			}
			content, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			logs := captureLogs(t)
			id := mustImport(t, rt, path, busyboxImportOptions())
			layer, err := rt.store.Layer(mustLookup(t, rt, id).TopLayer())
			if err != nil {
				t.Fatal(err)
			}
			if layer.ID != busyboxLayer || layer.UncompressedDigest.Encoded() != busyboxLayer || layer.Parent != "" {
				t.Errorf("layer %s (parent %q), diff ID %s, want %s", layer.ID, layer.Parent, layer.UncompressedDigest, busyboxLayer)
			}
			if want := digest.FromBytes(content); layer.CompressedDigest != want || layer.CompressedSize != int64(len(content)) {
				t.Errorf("layer compressed digest %s, size %d; want %s, %d", layer.CompressedDigest, layer.CompressedSize, want, len(content))
			}
			tarInfo, err := os.Stat(rootfs)
			if err != nil {
				t.Fatal(err)
			}
			if layer.UncompressedSize != tarInfo.Size() {
				t.Errorf("layer uncompressed size %d, want the tar's %d", layer.UncompressedSize, tarInfo.Size())
			}
			if skip := "Skipping blob " + digest.FromBytes(content).String() + " (already present)"; !strings.Contains(logs.String(), skip) {
				t.Errorf("the copy did not reuse the layer: no %q in the log", skip)
			}
			assertEmptyDir(t, rt.SystemContext().BigFilesTemporaryDir)
		})
	}
}

// TestImportRefusedByPolicy: a policy that rejects everything fails the import before the
// layer is written: the store is unchanged.
func TestImportRefusedByPolicy(t *testing.T) {
	rt, rec := newTestRuntime(t)
	before := snapshotStore(t, rt)
	writeFile(t, rt.SystemContext().SignaturePolicyPath, `{"default":[{"type":"reject"}]}`)
	_, err := rt.Import(context.Background(), busyboxRootfs(t), nil)
	if err == nil || !strings.Contains(err.Error(), "rejected") {
		t.Fatalf("error %v, want a policy rejection", err)
	}
	assertImportLeftNothing(t, rt, rec, before)
}

// TestImportFileChanged: a tarball rewritten between the pass that digests it and the one
// that writes the layer is refused (ErrImportSource) while c/storage writes the layer (the
// reader fails at its end, "no longer"), so the layer never exists complete under its ID.
func TestImportFileChanged(t *testing.T) {
	rt, _ := newTestRuntime(t)
	before := snapshotStore(t, rt)
	path := t.TempDir() + "/rootfs.tar"
	content, err := os.ReadFile(busyboxRootfs(t))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(content))
	job, err := rt.newImportJob(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, _, err := rt.openTarball(ctx, path, job)
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(src)
	writeFile(t, path, string(compress(t, content, "gzip"))) // same tar stream, other bytes
	pc, err := rt.policyContext()
	if err != nil {
		t.Fatal(err)
	}
	defer destroyPolicyContext(pc)
	_, created, err := rt.putImportLayer(ctx, pc, src, path)
	if !errors.Is(err, ErrImportSource) || created || !strings.Contains(err.Error(), "is no longer "+digest.FromBytes(content).String()) {
		t.Fatalf("created %v, error %v; want ErrImportSource", created, err)
	}
	assertUnchanged(t, rt, before)
}

// TestVerifyingReader: the reader passes the bytes on, ends with io.EOF (and says it verified
// them) when they have the expected digest and with errTarballChanged when they do not; read
// short of its end, it has verified nothing.
func TestVerifyingReader(t *testing.T) {
	for _, c := range []struct {
		content, digested string
		want              error
	}{{"the bytes", "the bytes", io.EOF}, {"other bytes", "the bytes", errTarballChanged}, {"", "", io.EOF}} {
		v := &verifyingReader{r: strings.NewReader(c.content), verifier: digest.FromString(c.digested).Verifier()}
		got, err := io.ReadAll(v)
		if c.want == io.EOF && (err != nil || v.mismatch || !v.verified) || c.want != io.EOF && (!errors.Is(err, c.want) || !v.mismatch || v.verified) {
			t.Errorf("%q digested as %q: error %v, mismatch %v, verified %v", c.content, c.digested, err, v.mismatch, v.verified)
		}
		if string(got) != c.content {
			t.Errorf("read %q, want %q", got, c.content)
		}
	}
	short := &verifyingReader{r: strings.NewReader("the bytes"), verifier: digest.FromString("the bytes").Verifier()}
	if _, err := short.Read(make([]byte, 3)); err != nil || short.verified || short.mismatch {
		t.Errorf("read 3 of 9 bytes: error %v, verified %v, mismatch %v; want neither", err, short.verified, short.mismatch)
	}
}
