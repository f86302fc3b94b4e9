package deploy

import "fmt"

// missingClient is the error for a Deps client a command needs but the
// library caller left nil (a nil client is one the command does not call).
func missingClient(field, why string) error {
	return fmt.Errorf("deploy: Deps.%s is nil, but %s needs it: set it (cmd/opsctl builds every client)", field, why)
}

// requireClusterClients checks, before any AWS call, that CreateCluster has
// the clients its mode calls: ECS and EC2 always (cluster, default VPC,
// security group), and for EC2 capacity also Auto Scaling (the groups), SSM
// (the ECS-optimized AMI parameter) and IAM (the instance role and profile).
// Fargate mode needs Auto Scaling only to remove groups a former EC2 mode
// left (groupDeleteStep says so when it finds one).
func (d Deps) requireClusterClients(fargate bool) error {
	need := []struct {
		field string
		nilv  bool
	}{{"ECS", d.ECS == nil}, {"EC2", d.EC2 == nil}}
	if !fargate {
		need = append(need, []struct {
			field string
			nilv  bool
		}{{"AutoScaling", d.AutoScaling == nil}, {"SSM", d.SSM == nil}, {"IAM", d.IAM == nil}}...)
	}
	for _, n := range need {
		if n.nilv {
			mode := "an EC2-capacity cluster"
			if fargate {
				mode = "a Fargate cluster"
			}
			return missingClient(n.field, "creating "+mode)
		}
	}
	return nil
}
