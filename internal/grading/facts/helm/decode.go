package helm

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	rspb "helm.sh/helm/v4/pkg/release/v1"
)

// Limits on what one release Secret may cost. Helm's own decoder
// (helm.sh/helm/v4/pkg/storage/driver.decodeRelease, unexported) reads the
// gzip stream with io.ReadAll, so a gzip bomb would take the operator down;
// ours stops at MaxDecodedSize.
const (
	// MaxEncodedSize bounds the Secret's "release" value (base64 text).
	// The apiserver stores at most ~1.5 MiB per object, so a real one is far
	// smaller; this guards other Readers (fakes, caches) too.
	MaxEncodedSize = 4 << 20
	// MaxDecodedSize bounds the release JSON after base64 and gunzip.
	MaxDecodedSize = 8 << 20
	// MaxManifestSize bounds the rendered manifest parsed into objects.
	MaxManifestSize = 4 << 20
	// MaxDecodedTotal bounds the release JSON decoded in one Collect, over
	// all Secrets: each decoded revision keeps its values in the facts, and
	// a namespace may hold any number of release Secrets. Releases are
	// decoded in name order, so the same ones fail once it is spent.
	MaxDecodedTotal = 64 << 20
)

// gzipMagic starts a gzip stream; Helm stores releases gzipped since 2.x and
// reads uncompressed JSON for older ones, and so do we.
var gzipMagic = []byte{0x1f, 0x8b, 0x08}

// errTooLarge is wrapped by the size errors so tests can tell them apart.
var errTooLarge = errors.New("too large")

// decodeRelease turns the "release" value of a Helm release Secret into the
// SDK's release type: base64, then gunzip (if gzipped), then JSON, exactly
// as Helm's Secrets driver stores it, but with every step bounded. size is
// the length of the JSON, also when decoding it failed.
func decodeRelease(payload []byte) (rls *rspb.Release, size int, err error) {
	var d decoder
	return d.decode(payload)
}

// decoder keeps the buffers and gzip state of one Collect, which decodes
// many Secrets one after another: the JSON decoder copies what it keeps,
// so the buffers can be reused. Not safe for concurrent use.
type decoder struct {
	raw []byte
	zr  *gzip.Reader
	out bytes.Buffer
}

func (d *decoder) decode(payload []byte) (rls *rspb.Release, size int, err error) {
	if len(payload) == 0 {
		return nil, 0, errors.New("no release data")
	}
	if len(payload) > MaxEncodedSize {
		return nil, 0, fmt.Errorf("release data is %d bytes, over the %d MiB limit: %w", len(payload), MaxEncodedSize>>20, errTooLarge)
	}
	if need := base64.StdEncoding.DecodedLen(len(payload)); cap(d.raw) < need {
		d.raw = make([]byte, need)
	}
	n, err := base64.StdEncoding.Decode(d.raw[:cap(d.raw)], payload)
	if err != nil {
		return nil, 0, fmt.Errorf("base64: %w", err)
	}
	raw := d.raw[:n]

	// Uncompressed JSON is at most 3/4 of MaxEncodedSize, below
	// MaxDecodedSize; only gunzip can inflate.
	data := raw
	if len(raw) > 3 && bytes.Equal(raw[:3], gzipMagic) {
		if data, err = d.gunzip(raw); err != nil {
			return nil, len(raw), err
		}
	}

	rls = new(rspb.Release)
	if err := json.Unmarshal(data, rls); err != nil {
		// Type errors say "json: ...", syntax errors do not.
		return nil, len(data), fmt.Errorf("json: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := validate(rls); err != nil {
		return nil, len(data), err
	}
	return rls, len(data), nil
}

// gunzip decompresses at most MaxDecodedSize bytes and fails beyond that,
// so memory stays bounded whatever the compression ratio. The result is
// valid until the next call.
func (d *decoder) gunzip(b []byte) ([]byte, error) {
	var err error
	if d.zr == nil {
		d.zr, err = gzip.NewReader(bytes.NewReader(b))
	} else {
		err = d.zr.Reset(bytes.NewReader(b))
	}
	if err != nil {
		d.zr = nil
		return nil, fmt.Errorf("gzip: %w", trimGzipPrefix(err))
	}
	d.out.Reset()
	// The gzip trailer's ISIZE (uncompressed size mod 2^32) is a hint
	// only: a lie costs buffer growth, bounded by the limit all the same.
	hint := int(binary.LittleEndian.Uint32(b[len(b)-4:]))
	d.out.Grow(min(hint, MaxDecodedSize) + bytes.MinRead)
	n, err := d.out.ReadFrom(io.LimitReader(d.zr, MaxDecodedSize+1))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", trimGzipPrefix(err))
	}
	if n > MaxDecodedSize {
		return nil, fmt.Errorf("gzip: release decompresses to over %d MiB (limit): %w", MaxDecodedSize>>20, errTooLarge)
	}
	return d.out.Bytes(), nil
}

// trimGzipPrefix avoids "gzip: gzip: invalid header".
func trimGzipPrefix(err error) error {
	switch {
	case errors.Is(err, gzip.ErrHeader):
		return errors.New("invalid header")
	case errors.Is(err, gzip.ErrChecksum):
		return errors.New("invalid checksum")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("truncated stream")
	}
	return err
}

// validate rejects JSON that decoded but is not a release: every release
// Helm writes has a name, info and chart metadata.
func validate(rls *rspb.Release) error {
	switch {
	case rls.Name == "":
		return errors.New("not a Helm release: no name")
	case rls.Info == nil:
		return errors.New("not a Helm release: no info")
	case rls.Chart == nil || rls.Chart.Metadata == nil:
		return errors.New("not a Helm release: no chart metadata")
	case len(rls.Manifest) > MaxManifestSize:
		return fmt.Errorf("manifest is %d bytes, over the %d MiB limit: %w", len(rls.Manifest), MaxManifestSize>>20, errTooLarge)
	}
	return nil
}
