# Fake Nodes managed by kwok. Sourced by run.sh.

# nodes_manifest <count>: YAML for <count> fake Nodes named kwok-node-<i>,
# each with room for plenty of Pods. kwok (--manage-all-nodes) keeps them
# Ready and moves Pods bound to them to Running.
nodes_manifest() {
  local count=$1 i
  for ((i = 0; i < count; i++)); do
    cat <<YAML
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
    type: kwok
status:
  allocatable:
    cpu: "32"
    memory: 256Gi
    pods: "110"
  capacity:
    cpu: "32"
    memory: 256Gi
    pods: "110"
  nodeInfo:
    architecture: amd64
    kubeletVersion: fake
    kubeProxyVersion: fake
    operatingSystem: linux
  phase: Running
YAML
  done
}
