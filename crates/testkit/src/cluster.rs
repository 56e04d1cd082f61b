//! A real local control plane (kube-apiserver, etcd, controller-manager, scheduler, kwok) on 127.0.0.1.
