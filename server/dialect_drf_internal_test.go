package server

import (
	"crypto/tls"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
)

func TestDRFPaging(t *testing.T) {
	t.Parallel()
	ptr := func(s string) *string { return &s }
	tests := []struct {
		name       string
		target     string
		count      int
		next, prev *string
		offset     int
		limit      int
	}{
		{"empty collection", "/tasks/", 0, nil, nil, 0, 10},
		{"first of three", "/tasks/", 25, ptr("http://api.test/tasks/?page=2"), nil, 0, 10},
		{"middle keeps the filter", "/tasks/?status=open&page=2", 25,
			ptr("http://api.test/tasks/?page=3&status=open"), ptr("http://api.test/tasks/?page=1&status=open"), 10, 10},
		{"last page", "/tasks/?page=3", 25, nil, ptr("http://api.test/tasks/?page=2"), 20, 10},
		{"exactly full last page", "/tasks/?page=2&page_size=5", 10, nil, ptr("http://api.test/tasks/?page=1&page_size=5"), 5, 5},
		{"one row past a full page", "/tasks/?page=2&page_size=5", 11, ptr("http://api.test/tasks/?page=3&page_size=5"), ptr("http://api.test/tasks/?page=1&page_size=5"), 5, 5},
		{"past the data points back to the last page", "/tasks/?page=9", 25, nil, ptr("http://api.test/tasks/?page=3"), 80, 10},
		{"largest page size", "/tasks/?page_size=100", 150, ptr("http://api.test/tasks/?page=2&page_size=100"), nil, 0, 100},
		{"largest page number", "/tasks/?page=1000000", 1, nil, ptr("http://api.test/tasks/?page=1"), 9_999_990, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://api.test"+tt.target, nil)
			p, err := drfPaging(r)
			require.NoError(t, err)
			assert.Equal(t, tt.offset, p.Offset)
			assert.Equal(t, tt.limit, p.Limit)
			got := newDRFPage(r, p, tt.count, []int(nil))
			assert.Equal(t, tt.count, got.Count)
			assert.Equal(t, tt.next, got.Next, "next")
			assert.Equal(t, tt.prev, got.Previous, "previous")
			body, err := json.Marshal(got)
			require.NoError(t, err)
			assert.Contains(t, string(body), `"results":[]`, "an empty page is a list, not null")
		})
	}

	t.Run("https links behind TLS", func(t *testing.T) {
		r := httptest.NewRequest("GET", "https://api.test/tasks/", nil)
		r.TLS = &tls.ConnectionState{}
		p, err := drfPaging(r)
		require.NoError(t, err)
		assert.Equal(t, "https://api.test/tasks/?page=2", *newDRFPage(r, p, 11, []int{1}).Next)
	})

	for _, bad := range []string{"page=0", "page=1000001", "page=x", "page_size=0", "page_size=101", "page=9223372036854775808"} {
		t.Run("refuses "+bad, func(t *testing.T) {
			_, err := drfPaging(httptest.NewRequest("GET", "/tasks/?"+bad, nil))
			e := errs.As(err)
			require.NotNil(t, e, "%s must be refused", bad)
			assert.Equal(t, errs.Invalid, e.Kind)
			status := drfDialect.status(e)
			assert.Equal(t, 400, status)
			body, _ := json.Marshal(drfDialect.errorBody(status, e))
			assert.Regexp(t, `^\{"details":\{"page(_size)?":\["must be an integer from 1 to [0-9]+"\]\},"error":".+"\}$`, string(body))
		})
	}
}
