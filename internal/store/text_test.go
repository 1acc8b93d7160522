package store_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/store"
)

func TestValidText(t *testing.T) {
	for s, want := range map[string]bool{
		"":                   true,
		"plain":              true,
		"é, 日本, 🙂":           true,
		`a\u0000b`:           true, // the escape's text, not a NUL
		"\x01\x7f":           true,
		"a\x00b":             false,
		"\x00":               false,
		"bad \xff utf-8":     false,
		"cut \xe6\x97":       false,
		"surrogate \xed\xa0": false,
	} {
		assert.Equal(t, want, store.ValidText(s), "%q", s)
	}
}

func TestCheckTexts(t *testing.T) {
	require.NoError(t, store.CheckText("columns", "a", "b"))
	err := store.CheckText("columns", "a", "b\x00")
	require.ErrorIs(t, err, errs.ErrInvalid)
	assert.Equal(t, []string{"columns"}, errs.As(err).FieldNames())

	require.NoError(t, store.CheckTexts(map[string]string{"a": "x", "b": ""}))
	err = store.CheckTexts(map[string]string{"a": "x", "c": "\x00", "b": "\xff"})
	require.ErrorIs(t, err, errs.ErrInvalid)
	assert.Equal(t, []string{"b", "c"}, errs.As(err).FieldNames(), "every bad field is named")
	assert.Equal(t, "b, c: "+store.TextRule, err.Error())
}
