package jetbase;

import java.lang.reflect.Field;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hive.metastore.IMetaStoreClient;
import org.apache.iceberg.ClientPool;
import org.apache.iceberg.TableMetadata;
import org.apache.iceberg.TableOperations;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.hive.HiveCatalog;
import org.apache.iceberg.hive.HiveTableOperations;
import org.apache.iceberg.io.FileIO;
import org.apache.thrift.TException;

/**
 * Iceberg's Hive catalog (behind spark_catalog of scripts/servers/databricks.sh) with commits that
 * are atomic within this JVM, the one server every session shares.
 *
 * An Iceberg commit on a Hive metastore reads the table's metadata_location, checks it is the
 * one the commit started from, and writes the new one. Atomic only through a metastore lock or a
 * Hive 4 metastore's conditional alter_table: the embedded Hive 2.3 metastore has neither (its
 * lock tables are missing, so iceberg.engine.hive.lock-enabled must be false), and concurrent
 * commits then overwrite each other (16 INSERTs at once, each answered with success, left 4 to 10
 * rows). Here each table's check-and-write runs under a lock of this JVM, so a commit that lost
 * the race fails its check and Iceberg retries or refuses it (CommitFailedException, or for an
 * UPDATE/DELETE/MERGE whose rows changed meanwhile, ValidationException "Found conflicting
 * files"), as a Delta commit does on Databricks.
 */
public class LockingHiveCatalog extends HiveCatalog {
  private static final Map<String, Object> LOCKS = new ConcurrentHashMap<>();
  private ClientPool<IMetaStoreClient, TException> clients;
  private FileIO io;

  @Override
  @SuppressWarnings("unchecked")
  public void initialize(String name, Map<String, String> properties) {
    super.initialize(name, properties);
    clients = (ClientPool<IMetaStoreClient, TException>) field("clients");
    io = (FileIO) field("fileIO");
  }

  private Object field(String name) {
    try {
      Field f = HiveCatalog.class.getDeclaredField(name);
      f.setAccessible(true);
      return f.get(this);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("HiveCatalog." + name + " not found: another Iceberg version?", e);
    }
  }

  @Override
  public TableOperations newTableOps(TableIdentifier ident) {
    return new LockingTableOperations(
        getConf(), clients, io, name(), ident.namespace().level(0), ident.name());
  }

  static final class LockingTableOperations extends HiveTableOperations {
    private final Object lock;

    LockingTableOperations(
        Configuration conf,
        ClientPool<IMetaStoreClient, TException> clients,
        FileIO io,
        String catalog,
        String database,
        String table) {
      super(conf, clients, io, catalog, database, table);
      String key = (catalog + "." + database + "." + table).toLowerCase(Locale.ROOT);
      this.lock = LOCKS.computeIfAbsent(key, k -> new Object());
    }

    @Override
    protected void doCommit(TableMetadata base, TableMetadata metadata) {
      synchronized (lock) {
        super.doCommit(base, metadata);
      }
    }
  }
}
