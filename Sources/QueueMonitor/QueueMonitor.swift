// The monitor module; see MonitorApp.swift.
