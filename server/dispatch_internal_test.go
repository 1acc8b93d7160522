package server

import (
	"net/http"
	"testing"

	"github.com/julienschmidt/httprouter"
	"github.com/stretchr/testify/assert"
)

// A static path beside a parameter route is served through that route
// for its reserved value, with its own access; every other value reaches
// the parameter route, and a method with no parameter route answers 404
// for them.
func TestReservedValuesAreDispatchedWithTheirOwnAccess(t *testing.T) {
	s, _ := newTestServer(t)
	echo := func(name string) handlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error {
			return writeJSON(w, http.StatusOK, map[string]string{"route": name, "id": httprouter.ParamsFromContext(r.Context()).ByName("id")})
		}
	}
	s.group("/things", DRF,
		get("/mine/", anyone, echo("mine")).dispatchedBy("/:id/"),
		get("/:id/", anyone, echo("one")),
		get("/all/", adminOnly, echo("all")).dispatchedBy("/:id/"),
		post("/move/", anyone, echo("move")).dispatchedBy("/:id/"),
		post("/:id/act/", anyone, echo("act")),
	)
	for _, c := range []struct {
		method, path string
		status       int
		body         string
	}{
		{http.MethodGet, "/things/mine/", http.StatusOK, `"route":"mine"`},
		{http.MethodGet, "/things/7/", http.StatusOK, `"route":"one"`},
		{http.MethodGet, "/things/all/", http.StatusUnauthorized, `"error"`},
		{http.MethodHead, "/things/mine/", http.StatusOK, ``},
		{http.MethodPost, "/things/move/", http.StatusOK, `"route":"move"`},
		{http.MethodPost, "/things/7/act/", http.StatusOK, `"route":"act"`},
		{http.MethodPost, "/things/7/", http.StatusNotFound, `"error"`},
	} {
		rec, _ := do(t, s, c.method, c.path, nil)
		assert.Equal(t, c.status, rec.Code, "%s %s: %s", c.method, c.path, rec.Body.String())
		assert.Contains(t, rec.Body.String(), c.body, "%s %s", c.method, c.path)
	}
	assert.Panics(t, func() { s.group("/things", DRF, get("/mine/", anyone, echo("again")).dispatchedBy("/:id/")) })
	assert.Panics(t, func() { s.group("/things", DRF, get("/a/b/", anyone, echo("x")).dispatchedBy("/:id/")) })
}

// A reserved route may name the other parameters of its dispatching route
// as it likes: they reach it under its own names, without the reserved one.
func TestReservedRoutesReadTheirOwnParameterNames(t *testing.T) {
	s, _ := newTestServer(t)
	echo := func(name string) handlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error {
			ps := httprouter.ParamsFromContext(r.Context())
			return writeJSON(w, http.StatusOK, map[string]any{"route": name, "id": ps.ByName("id"), "n": len(ps)})
		}
	}
	s.group("/boxes", DRF,
		post("/:id/act/", anyone, echo("act")).dispatchedBy("/:id/:action/"),
		post("/special/:id/go/", anyone, echo("go")).dispatchedBy("/:id/:action/go/"),
	)
	for _, c := range []struct {
		path   string
		status int
		body   string
	}{
		{"/boxes/5/act/", http.StatusOK, `"id":"5","n":2`},
		{"/boxes/special/9/go/", http.StatusOK, `"id":"9","n":1`},
		{"/boxes/5/other/", http.StatusNotFound, `"error"`},
		{"/boxes/other/9/go/", http.StatusNotFound, `"error"`},
	} {
		rec, _ := do(t, s, http.MethodPost, c.path, nil)
		assert.Equal(t, c.status, rec.Code, "%s: %s", c.path, rec.Body.String())
		assert.Contains(t, rec.Body.String(), c.body, c.path)
	}
}
