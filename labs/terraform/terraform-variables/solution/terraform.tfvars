namespace   = "lab-CHANGE-ME"
replicas    = 3
environment = "staging"
