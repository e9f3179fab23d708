import Foundation
import Testing
import QueueCore

/// Config in the store: set, read, unset back to the defaults, kept across connections.
@Suite struct StoreConfigTests {
    @Test func setsReadsAndUnsets() throws {
        let f = try StoreFixture()
        try f.store.setConfig(.maxRetries, 5)
        try f.store.setConfig(.backoffBase, 1.5)
        try f.store.setConfig(.backoffMax, 30)
        try f.store.setConfig(.jobTimeout, 12)
        var config = try f.store.config()
        #expect(config.maxRetries == 5)
        #expect(config.retryPolicy == RetryPolicy(base: 1.5, maxDelay: 30))
        #expect(config.jobTimeout == 12)
        try f.store.setConfig(.maxRetries, 6)
        #expect(try f.store.config().maxRetries == 6)

        try f.store.unsetConfig(.backoffMax)
        try f.store.unsetConfig(.maxRetries)
        config = try f.store.config()
        #expect(config.value(.backoffMax) == 86_400)
        #expect(config.maxRetries == 3)
        #expect(config.values[.maxRetries] == nil)

        // Values survive reopening the queue.
        let reopened = try f.connection(.command(creating: false))
        #expect(try reopened.config().retryPolicy.base == 1.5)
    }
}
