// Package docsui holds the interactive API pages of the reference server:
// Swagger UI (served at /docs) and ReDoc (at /redoc), with every script and
// style they load embedded in the binary, so that the pages work on a
// server without access to a CDN. README.md says which upstream releases
// are vendored and how to update them.
package docsui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
)

//go:embed assets pages
var files embed.FS

// File is one page or asset, ready to serve.
type File struct {
	// ContentType is the file's media type with its charset.
	ContentType string
	// Body is the file as stored.
	Body []byte
	// ETag is a strong validator of Body (quoted).
	ETag string
	// gzipped is Body compressed, made at its first use: the two large
	// bundles shrink to a quarter, and compressing them per request would
	// cost more than sending them.
	gzipped func() []byte
}

// Gzipped returns Body gzip-compressed and its ETag.
func (f *File) Gzipped() ([]byte, string) {
	return f.gzipped(), strings.TrimSuffix(f.ETag, `"`) + `-gzip"`
}

// contentTypes are the media types of the embedded files, by extension.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// newFile wraps body as a File named name.
func newFile(name string, body []byte) *File {
	sum := sha256.Sum256(body)
	return &File{
		ContentType: contentTypes[path.Ext(name)],
		Body:        body,
		ETag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
		gzipped: sync.OnceValue(func() []byte {
			var b bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			// Writes to a bytes.Buffer do not fail.
			_, _ = zw.Write(body)
			_ = zw.Close()
			return b.Bytes()
		}),
	}
}

// catalogue is every asset and page, built once.
type catalogue struct {
	version string
	assets  map[string]*File
	pages   map[string]*File
}

var load = sync.OnceValue(func() *catalogue {
	c := &catalogue{assets: map[string]*File{}, pages: map[string]*File{}}
	entries, err := files.ReadDir("assets")
	if err != nil {
		panic("docsui: embedded assets: " + err.Error())
	}
	// The version is a digest of every asset: pages link assets with it,
	// so that a browser may cache an asset for good and still fetch the
	// new one after an upgrade.
	all := sha256.New()
	for _, e := range entries {
		body, err := files.ReadFile("assets/" + e.Name())
		if err != nil {
			panic("docsui: embedded asset " + e.Name() + ": " + err.Error())
		}
		all.Write([]byte(e.Name()))
		all.Write(body)
		c.assets[e.Name()] = newFile(e.Name(), body)
	}
	c.version = hex.EncodeToString(all.Sum(nil)[:8])
	for _, name := range []string{"docs.html", "redoc.html"} {
		body, err := files.ReadFile("pages/" + name)
		if err != nil {
			panic("docsui: embedded page " + name + ": " + err.Error())
		}
		body = bytes.ReplaceAll(body, []byte("@VERSION@"), []byte(c.version))
		c.pages[strings.TrimSuffix(name, ".html")] = newFile(name, body)
	}
	return c
})

// Version identifies this build's assets; pages link assets with ?v=Version.
func Version() string { return load().version }

// Asset returns the asset named name (a file name such as
// "swagger-ui-bundle.js"), if there is one.
func Asset(name string) (*File, bool) {
	f, ok := load().assets[name]
	return f, ok
}

// AssetNames lists the assets by name.
func AssetNames() []string { return slices.Sorted(maps.Keys(load().assets)) }

// SwaggerUI is the /docs page. It loads its assets from docs/assets/ and
// the API document from openapi.json, relative to itself.
func SwaggerUI() *File { return load().pages["docs"] }

// ReDoc is the /redoc page, loading the same as SwaggerUI.
func ReDoc() *File { return load().pages["redoc"] }

// ContentSecurityPolicy is the policy the pages are served with: scripts
// and styles from the server only, no inline script. Both UIs set inline
// style attributes, ReDoc runs its search in a worker made from a blob and
// both show images from data: URLs; calls made by "Try it out" go to the
// server the page came from.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
