package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/analysis"
)

func TestAIFlagsBuildTheSettings(t *testing.T) {
	o := aiOptions{provider: "claude", model: "sonnet", claudeCommand: "claude  -p --model {model}", cliTimeout: "90s",
		openAIURL: "http://127.0.0.1:8000/v1", openAIKey: "k", peers: "gemini:gemini-2.5-pro, openai:qwen2.5", peerRounds: "2"}
	s, err := o.settings()
	require.NoError(t, err)
	assert.Equal(t, []string{"claude", "-p", "--model", "{model}"}, s.ClaudeCommand)
	assert.Equal(t, 90*time.Second, s.CLITimeout)
	assert.Equal(t, []analysis.AIConfig{{AIProvider: "gemini", AIModel: "gemini-2.5-pro"}, {AIProvider: "openai", AIModel: "qwen2.5"}}, s.Peers)
	assert.Equal(t, 2, s.PeerMaxRounds)
	assert.Equal(t, "k", s.OpenAIKey)

	for _, bad := range []aiOptions{{cliTimeout: "0s"}, {cliTimeout: "soon"}, {peerRounds: "x"}, {peers: "gemini"}, {peers: ":m"}} {
		_, err := bad.settings()
		assert.Error(t, err, "%+v", bad)
	}
}
