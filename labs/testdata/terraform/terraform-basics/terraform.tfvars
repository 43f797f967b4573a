namespace = "lab-CHANGE-ME"
