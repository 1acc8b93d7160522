package server

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/server/docsui"
)

// serveSwaggerUI answers GET /docs, the interactive API page the document
// links (Swagger UI), built from assets embedded in the binary.
func serveSwaggerUI(w http.ResponseWriter, r *http.Request) error {
	serveDocsPage(w, r, docsui.SwaggerUI())
	return nil
}

// serveReDoc answers GET /redoc, the API reference page (ReDoc).
func serveReDoc(w http.ResponseWriter, r *http.Request) error {
	serveDocsPage(w, r, docsui.ReDoc())
	return nil
}

// serveDocsPage sends a docs page. Pages are small and name the current
// assets' version, so browsers revalidate them on every load.
func serveDocsPage(w http.ResponseWriter, r *http.Request, f *docsui.File) {
	h := w.Header()
	h.Set("Content-Security-Policy", docsui.ContentSecurityPolicy)
	h.Set("Cache-Control", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	serveDocsFile(w, r, "page.html", f)
}

// serveDocsAsset answers GET /docs/assets/{file}, the scripts and styles of
// the docs pages. An asset asked for with this build's version (as the
// pages link it) is cached for good; any other revalidates.
func serveDocsAsset(w http.ResponseWriter, r *http.Request) error {
	name := httprouter.ParamsFromContext(r.Context()).ByName("file")
	f, ok := docsui.Asset(name)
	if !ok {
		return errs.NotFoundf("no docs asset %q", name)
	}
	if r.URL.Query().Get("v") == docsui.Version() {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	serveDocsFile(w, r, name, f)
	return nil
}

// serveDocsFile sends f, gzip-compressed when the client accepts it, with
// its ETag so that a revalidation is a 304 (http.ServeContent answers
// conditional and range requests).
func serveDocsFile(w http.ResponseWriter, r *http.Request, name string, f *docsui.File) {
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	body, etag := f.Body, f.ETag
	if acceptsGzip(r) {
		body, etag = f.Gzipped()
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether the request's Accept-Encoding lists gzip
// without refusing it (q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
