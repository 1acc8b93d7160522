package server_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow"
	"github.com/bugflow/bugflow/internal/apitest"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/server/docsui"
)

// assetLink is a script or style a docs page loads.
var assetLink = regexp.MustCompile(`(?:src|href)="(docs/assets/[^"?]+)\?v=([^"]+)"`)

// GET /docs and GET /redoc serve pages whose every asset is served by the
// server itself (no CDN), under a Content-Security-Policy without inline
// scripts; the assets are cached for good when asked for with this build's
// version and revalidate otherwise.
func TestDocsPagesServeEmbeddedAssets(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, url string) {
		srv := apitest.Start(t, apitest.Config{Engine: bugflow.Config{DatabaseURL: url}})
		get := func(path string) (*http.Response, []byte) {
			t.Helper()
			resp, err := srv.Client.Get(srv.URL + path)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return resp, body
		}
		for _, page := range []string{"/docs", "/redoc"} {
			resp, body := get(page)
			require.Equal(t, http.StatusOK, resp.StatusCode, page)
			assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"), page)
			csp := resp.Header.Get("Content-Security-Policy")
			assert.Contains(t, csp, "script-src 'self';", page)
			assert.NotContains(t, csp, "unsafe-eval", page)
			assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"), page)
			assert.NotContains(t, string(body), "<script>", "%s: no inline script", page)
			assert.NotRegexp(t, `(src|href)="(https?:)?//`, string(body), "%s: nothing from another host", page)
			links := assetLink.FindAllStringSubmatch(string(body), -1)
			require.NotEmpty(t, links, page)
			for _, l := range links {
				assert.Equal(t, docsui.Version(), l[2], "%s links %s with this build's version", page, l[1])
				resp, asset := get("/" + l[1] + "?v=" + l[2])
				require.Equal(t, http.StatusOK, resp.StatusCode, l[1])
				assert.NotEmpty(t, asset, l[1])
				assert.Regexp(t, `^text/(javascript|css); charset=utf-8$`, resp.Header.Get("Content-Type"), l[1])
				assert.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"), l[1])
				assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), l[1])
			}
		}

		resp, _ := get("/docs/assets/swagger-ui-bundle.js?v=0000000000000000")
		assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"), "another build's version revalidates")
		// Outside the document's enum, so through the raw client.
		resp, err := srv.Raw.Get(srv.URL + "/docs/assets/nope.js")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}

// An asset is sent gzip-compressed only to clients that accept it, and a
// revalidation with its ETag is a 304 without a body.
func TestDocsAssetsCompressionAndRevalidation(t *testing.T) {
	srv := apitest.Start(t, apitest.Config{})
	want, ok := docsui.Asset("swagger-ui-bundle.js")
	require.True(t, ok)
	// A plain client: the validating one does not know 304, and the
	// transport must not decompress behind the test's back.
	plain := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	fetch := func(header http.Header) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/docs/assets/swagger-ui-bundle.js", nil)
		require.NoError(t, err)
		req.Header = header
		resp, err := plain.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, body
	}

	resp, body := fetch(http.Header{})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Content-Encoding"))
	assert.Equal(t, want.Body, body)
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)

	resp, body = fetch(http.Header{"Accept-Encoding": {"br;q=1.0, gzip;q=0.8"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	assert.Contains(t, resp.Header.Values("Vary"), "Accept-Encoding")
	assert.Less(t, len(body), len(want.Body)/2, "compressed")
	zr, err := gzip.NewReader(bytes.NewReader(body))
	require.NoError(t, err)
	unzipped, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, want.Body, unzipped)
	gzEtag := resp.Header.Get("ETag")
	assert.NotEqual(t, etag, gzEtag, "each encoding has its own validator")

	resp, _ = fetch(http.Header{"Accept-Encoding": {"gzip;q=0"}})
	assert.Empty(t, resp.Header.Get("Content-Encoding"), "gzip;q=0 refuses gzip")

	resp, body = fetch(http.Header{"If-None-Match": {etag}})
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Empty(t, body)
	resp, _ = fetch(http.Header{"If-None-Match": {gzEtag}, "Accept-Encoding": {"gzip"}})
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	resp, _ = fetch(http.Header{"If-None-Match": {`"stale"`}})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// The document's enum of asset names is the embedded assets.
func TestDocsAssetsAreDocumented(t *testing.T) {
	doc, err := apitest.LoadDocument()
	require.NoError(t, err)
	op := doc.Paths.Find("/docs/assets/{file}").Get
	require.NotNil(t, op)
	var documented []string
	for _, v := range op.Parameters.GetByInAndName("path", "file").Schema.Value.Enum {
		documented = append(documented, v.(string))
	}
	slices.Sort(documented)
	assert.Equal(t, docsui.AssetNames(), documented)
}
