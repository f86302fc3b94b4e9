package ecsemu

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// What an emulated container writes, by convention (README "ECS on the local
// endpoint"): when its task reaches RUNNING, each container whose log
// configuration uses the awslogs driver writes
//
//  1. its command (the task's containerOverrides command, else the
//     container definition's), joined by spaces, as the first line, when it
//     has one;
//  2. the lines (split at newlines) of its environment variable
//     LOCALAWS_LOG (the override's value wins over the definition's).
//
// to the group awslogs-group, stream awslogs-stream-prefix/container-name/
// task-id, as AWS documents for the awslogs driver ("Using the awslogs log
// driver": prefix-name/container-name/ecs-task-id); without a prefix the
// stream is named by a container id. A task that never runs (fail-pull)
// writes nothing. The group must exist unless awslogs-create-group is
// "true"; when it does not, the output is dropped (AWS would fail the task
// with a ResourceInitializationError; the emulation keeps the task).

// LogEnv is the environment variable whose lines an emulated container
// writes to its log.
const LogEnv = "LOCALAWS_LOG"

// writeTaskLogs writes the output of the tasks that reached RUNNING by now
// and have not written it yet. s.mu is held; TaskLog takes only the Logs
// emulation's lock.
func (s *Server) writeTaskLogs(c *cluster, now time.Time) {
	if s.TaskLog == nil {
		return
	}
	for _, id := range sortedKeys(c.tasks) {
		t := c.tasks[id]
		if t.logged || t.startedAt == nil || t.startedAt.After(now) {
			continue
		}
		t.logged = true
		for _, cd := range t.td.td.ContainerDefinitions {
			lc := cd.LogConfiguration
			if lc == nil || lc.LogDriver != types.LogDriverAwslogs || lc.Options["awslogs-group"] == "" {
				continue
			}
			// Without a prefix: the (64 hex digit) Docker container id.
			stream := hexIDFrom(t.id+str(cd.Name), 32) + hexIDFrom(str(cd.Name)+t.id, 32)
			if p := lc.Options["awslogs-stream-prefix"]; p != "" {
				stream = p + "/" + str(cd.Name) + "/" + t.id
			}
			_ = s.TaskLog(lc.Options["awslogs-group"], stream, lc.Options["awslogs-create-group"] == "true", *t.startedAt, t.output(cd))
		}
	}
}

// output is what one container writes (see the convention above).
func (t *task) output(cd types.ContainerDefinition) []string {
	cmd := cd.Command
	env := map[string]string{}
	for _, kv := range cd.Environment {
		env[str(kv.Name)] = str(kv.Value)
	}
	if t.overrides != nil {
		for _, co := range t.overrides.ContainerOverrides {
			if str(co.Name) != str(cd.Name) {
				continue
			}
			if co.Command != nil {
				cmd = co.Command
			}
			for _, kv := range co.Environment {
				env[str(kv.Name)] = str(kv.Value)
			}
		}
	}
	var lines []string
	if len(cmd) > 0 {
		lines = append(lines, strings.Join(cmd, " "))
	}
	if v, ok := env[LogEnv]; ok {
		lines = append(lines, strings.Split(v, "\n")...)
	}
	return lines
}
