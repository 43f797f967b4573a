package toolchain

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Time limits of release downloads. Without a network (DNS fails, a
// firewall drops packets) the first request must give up in well under
// five seconds so the source build starts at once; once bytes flow, a
// stall of stallTimeout ends the download rather than a fixed total.
const (
	dialTimeout   = 2 * time.Second
	headerTimeout = 3 * time.Second
	stallTimeout  = 20 * time.Second
	// maxReleaseMember bounds one binary taken from a release archive.
	maxReleaseMember = 1 << 30
)

// downloadClient is the HTTP client for release downloads: short connect,
// TLS and header timeouts, proxies from the environment.
var downloadClient = &http.Client{
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout}).DialContext,
		TLSHandshakeTimeout:   dialTimeout,
		ResponseHeaderTimeout: headerTimeout,
	},
}

// errChecksum marks a download whose bytes do not match the pinned SHA256.
var errChecksum = errors.New("checksum mismatch")

// download fetches every file into dir as its Binary, verifying each
// against its pinned SHA256 before anything lands in dir. On error dir may
// hold some of the files: the caller builds into a temp dir it discards.
func download(ctx context.Context, client *http.Client, files []releaseFile, dir string, progress io.Writer) error {
	for _, f := range files {
		start := time.Now()
		if err := downloadOne(ctx, client, f, dir); err != nil {
			return fmt.Errorf("%s: %w", f.URL, err)
		}
		fmt.Fprintf(progress, "  downloaded %s (sha256 verified) in %s\n", f.Binary, time.Since(start).Round(100*time.Millisecond))
	}
	return nil
}

// downloadOne saves f.URL to a temp file while hashing it, and only when
// the hash matches extracts (or renames) the binary into dir.
func downloadOne(ctx context.Context, client *http.Client, f releaseFile, dir string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	tmp, err := os.CreateTemp(dir, ".download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), stallReader(resp.Body, stallTimeout, cancel)); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("%w: got sha256 %s, pinned %s", errChecksum, got, f.SHA256)
	}
	dst := filepath.Join(dir, f.Binary)
	if f.Member == "" {
		if err := tmp.Close(); err != nil {
			return err
		}
		if err := os.Chmod(tmp.Name(), 0o755); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), dst)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return extractMember(tmp, f.Member, dst)
}

// extractMember writes the regular file member of the .tar.gz r to dst.
func extractMember(r io.Reader, member, dst string) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s not in the archive", member)
		}
		if err != nil {
			return err
		}
		if hdr.Name != member || hdr.Typeflag != tar.TypeReg {
			continue
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
		if err != nil {
			return err
		}
		// The archive was checked against its pinned SHA-256 before it was
		// opened; the limit still bounds a member to what a release binary can be.
		if _, err := io.Copy(out, io.LimitReader(tr, maxReleaseMember)); err != nil {
			_ = out.Close()
			return err
		}
		return out.Close()
	}
}

// stallReader cancels (through cancel) a download that delivers no byte
// for d, so a connection that hangs mid-body does not hang the run.
func stallReader(r io.Reader, d time.Duration, cancel context.CancelFunc) io.Reader {
	t := time.AfterFunc(d, cancel)
	return readerFunc(func(p []byte) (int, error) {
		n, err := r.Read(p)
		t.Reset(d)
		if err != nil {
			t.Stop()
		}
		return n, err
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
